package media

import (
	"bytes"
	"context"
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
