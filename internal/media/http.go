package media

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/callplane/callplane/internal/call"
	"github.com/callplane/callplane/internal/httpx"
	"github.com/callplane/callplane/internal/store"
)

// RequestLog takes the downloads of recordings, for their calls' timelines.
type RequestLog interface {
	Record(store.Request)
}

// Recordings serves recordings, and a few sample prompts at
// /media/samples/{beep,menu,goodbye}.wav. Recordings are served as the real
// service's recordingLocation serves them: GET /media/recordings/{callId}/{operationId} with
// "Authorization: Bearer <recordingAccessToken>" answers the recording, a
// WAV file of the recorded length; without the token, or with another,
// 401. lookup finds a recording; it is there as long as its call is kept.
// Each download of a recording there is goes into log (when not nil), for
// its call's timeline.
func Recordings(lookup func(ctx context.Context, callID, opID string) (rec call.Recording, speech []byte, ok bool), log RequestLog) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /media/recordings/{call}/{op}", func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		callID, opID := r.PathValue("call"), r.PathValue("op")
		rec, speech, ok := lookup(r.Context(), callID, opID)
		if !ok {
			writeError(w, http.StatusNotFound, "itemNotFound", "No recording here: it never was, or its call was purged.")
			return
		}
		status := http.StatusOK
		if log != nil {
			defer func() {
				log.Record(store.Request{CallID: callID, At: started, Method: r.Method, Path: r.URL.Path,
					Action: "downloadRecording", Status: status, OperationID: opID, Duration: time.Since(started)})
			}()
		}
		if token, _ := httpx.BearerToken(r); token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(rec.Token)) != 1 {
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="recording"`)
			writeError(w, status, "unauthenticated", "A recording downloads with its recordingAccessToken as a bearer token.")
			return
		}
		data, err := renderRecording(rec, speech)
		if err != nil {
			status = http.StatusInternalServerError
			writeError(w, status, "generalException", "The recording cannot be rendered: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("X-Recording-Duration", strconv.FormatFloat(rec.Length.Seconds(), 'f', 3, 64))
		w.Write(data)
	})
	mux.HandleFunc("GET /media/samples/{name}", func(w http.ResponseWriter, r *http.Request) {
		d, ok := samples[r.PathValue("name")]
		if !ok {
			writeError(w, http.StatusNotFound, "itemNotFound", "No such sample: there are beep.wav, menu.wav and goodbye.wav.")
			return
		}
		data := Recording(d, []Interval{{From: 0, To: d}})
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "itemNotFound", "No such media resource.")
	})
	return mux
}

// renderRecording writes a recording: the person's own audio where they spoke it,
// or a tone.
func renderRecording(rec call.Recording, speech []byte) ([]byte, error) {
	spans := make([]Interval, len(rec.Speech))
	for i, s := range rec.Speech {
		spans[i] = Interval{From: s.From, To: s.To}
	}
	if rec.Voiced && len(spans) == 1 {
		return VoicedRecording(rec.Length, spans[0], speech)
	}
	return Recording(rec.Length, spans), nil
}

// samples are prompts callplane serves itself, so that a first IVR needs
// no file server: a tone of each length, in the format the service plays.
var samples = map[string]time.Duration{
	"beep.wav":    500 * time.Millisecond,
	"menu.wav":    3 * time.Second,
	"goodbye.wav": 1500 * time.Millisecond,
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + message + `","innerError":{"date":"` + time.Now().UTC().Format("2006-01-02T15:04:05") + `"}}}` + "\n"))
}
