package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRecordingIsAWAVOfItsLength(t *testing.T) {
	data := Recording(2500*time.Millisecond, []Interval{{From: 500 * time.Millisecond, To: 2 * time.Second}})
	f, err := ReadHeader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := Playable(f); err != nil {
		t.Fatal(err)
	}
	if f.Duration() != 2500*time.Millisecond || len(data) != 44+2*Rate*5/2 {
		t.Fatalf("duration %v, %d bytes", f.Duration(), len(data))
	}
	// Silent before the speech, sounding in it.
	quiet, loud := data[44+2*100], data[44+2*(Rate+100):44+2*(Rate+120)]
	if quiet != 0 || bytes.Equal(loud, make([]byte, 40)) {
		t.Fatal("the speech is not where it was spoken")
	}
}

// wav16 is a 16-bit mono PCM WAV at rate holding samples.
func wav16(rate uint32, samples []int16) []byte {
	data := Recording(time.Duration(len(samples))*time.Second/Rate, nil) // a header to edit
	head := data[:44]
	binary.LittleEndian.PutUint32(head[24:], rate)
	binary.LittleEndian.PutUint32(head[28:], 2*rate)
	binary.LittleEndian.PutUint32(head[40:], uint32(2*len(samples)))
	out := append([]byte(nil), head...)
	for _, v := range samples {
		out = binary.LittleEndian.AppendUint16(out, uint16(v))
	}
	return out
}

// TestVoicedRecording: the person's own audio is where they spoke it, at
// 16 kHz (8 kHz audio with each sample twice), and silence around it.
func TestVoicedRecording(t *testing.T) {
	voice := make([]int16, 1600) // 100 ms at 16 kHz
	for i := range voice {
		voice[i] = int16(i + 1)
	}
	spoke := Interval{From: 50 * time.Millisecond, To: 150 * time.Millisecond}
	for _, tc := range []struct {
		rate  uint32
		audio []int16
		want  func(i int) int16
	}{
		{16000, voice, func(i int) int16 { return voice[i] }},
		{8000, voice[:800], func(i int) int16 { return voice[i/2] }},
	} {
		if d, err := ReadSpeech(wav16(tc.rate, tc.audio)); err != nil || d != 100*time.Millisecond {
			t.Fatalf("%d Hz: ReadSpeech %v, %v", tc.rate, d, err)
		}
		data, err := VoicedRecording(200*time.Millisecond, spoke, wav16(tc.rate, tc.audio))
		if err != nil {
			t.Fatal(err)
		}
		if f, err := ReadHeader(bytes.NewReader(data)); err != nil || f.Duration() != 200*time.Millisecond || f.SampleRate != Rate {
			t.Fatalf("%d Hz: %v, %v", tc.rate, f, err)
		}
		pcm := data[44:]
		at := func(i int) int16 { return int16(binary.LittleEndian.Uint16(pcm[2*i:])) }
		for i := range 3200 {
			want := int16(0)
			if i >= 800 && i < 2400 {
				want = tc.want(i - 800)
			}
			if got := at(i); got != want {
				t.Fatalf("%d Hz: sample %d is %d, want %d", tc.rate, i, got, want)
			}
		}
	}
}

func TestReadSpeechRefuses(t *testing.T) {
	good := wav16(16000, make([]int16, 1600))
	stereo := bytes.Clone(good)
	stereo[22] = 2
	for name, audio := range map[string][]byte{
		"not a WAV": []byte("hello"),
		"stereo":    stereo,
		"cut short": good[:len(good)-10],
		"no audio":  wav16(16000, nil),
	} {
		if _, err := ReadSpeech(audio); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadHeaderRefuses(t *testing.T) {
	good := Recording(time.Second, nil)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, this is not audio"),
		"no data":   good[:36],
		"truncated": good[:20],
		"mp3":       append([]byte("ID3\x03"), make([]byte, 100)...),
	} {
		if _, err := ReadHeader(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	stereo := Recording(time.Second, nil)
	stereo[22] = 2 // channels
	f, err := ReadHeader(bytes.NewReader(stereo))
	if err != nil {
		t.Fatal(err)
	}
	if err := Playable(f); err == nil || !strings.Contains(err.Error(), "2 channel") {
		t.Fatalf("stereo: %v", err)
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/menu.wav":
			w.Write(Recording(1500*time.Millisecond, nil))
		case "/page.html":
			w.Write([]byte("<html>not audio</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := New(Config{Fetch: true})
	if d, err := e.Probe(context.Background(), srv.URL+"/menu.wav"); err != nil || d != 1500*time.Millisecond {
		t.Fatalf("menu: %v %v", d, err)
	}
	for path, says := range map[string]string{"/missing.wav": "HTTP 404", "/page.html": "not a WAV file"} {
		_, err := e.Probe(context.Background(), srv.URL+path)
		var pe *PromptError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, srv.URL+path) || !strings.Contains(pe.Msg, says) {
			t.Errorf("%s: %v, want it to name the URL and say %q", path, err, says)
		}
	}
	refusing := New(Config{Fetch: true, Check: func(string) error { return errors.New("not on the allow list") }})
	if _, err := refusing.Probe(context.Background(), srv.URL+"/menu.wav"); err == nil || !strings.Contains(err.Error(), "allow list") {
		t.Fatalf("policy: %v", err)
	}
	off := New(Config{FixedDuration: 3 * time.Second})
	if d, err := off.Probe(context.Background(), "https://unreachable.example/x.wav"); err != nil || d != 3*time.Second {
		t.Fatalf("fetch off: %v %v", d, err)
	}
}
