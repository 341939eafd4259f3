// Package media is callplane's simulated media engine: it fetches the
// prompts bots play and tells how long each lasts (or why it cannot play),
// and renders the recordings of what simulated people said as WAV files.
// The call domain keeps the timeline (what plays when, who speaks when);
// an engine that plays to real phones could stand behind the same
// interface.
package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Format is what a WAV file's header says about its audio.
type Format struct {
	// AudioFormat is the WAVE format tag: 1 is PCM.
	AudioFormat   uint16
	Channels      uint16
	SampleRate    uint32
	BitsPerSample uint16
	// DataBytes is the size of the audio itself.
	DataBytes uint32
}

// Duration is how long the audio plays.
func (f Format) Duration() time.Duration {
	perSecond := float64(f.SampleRate) * float64(f.Channels) * float64(f.BitsPerSample) / 8
	if perSecond == 0 {
		return 0
	}
	return time.Duration(float64(f.DataBytes) / perSecond * float64(time.Second))
}

func (f Format) String() string {
	kind := fmt.Sprintf("format %d", f.AudioFormat)
	if f.AudioFormat == pcm {
		kind = "PCM"
	}
	return fmt.Sprintf("%s, %d Hz, %d-bit, %d channel(s)", kind, f.SampleRate, f.BitsPerSample, f.Channels)
}

const pcm = 1

// ErrNotWAV is a file that is not RIFF/WAVE.
var ErrNotWAV = errors.New("not a WAV file (no RIFF/WAVE header)")

// maxChunks bounds the chunks read before the audio: a header that never
// reaches it is not a prompt.
const maxChunks = 32

// ReadHeader reads a WAV file's header up to the start of its audio: the
// RIFF/WAVE signature, the fmt chunk, and the size of the data chunk.
// Nothing past the header is read.
func ReadHeader(r io.Reader) (Format, error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return Format{}, ErrNotWAV
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return Format{}, ErrNotWAV
	}
	var f Format
	haveFmt := false
	for range maxChunks {
		var head [8]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return Format{}, errors.New("the WAV file ends before its audio (no data chunk)")
		}
		id, size := string(head[0:4]), binary.LittleEndian.Uint32(head[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return Format{}, fmt.Errorf("the WAV file's fmt chunk has %d bytes", size)
			}
			body := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, body); err != nil {
				return Format{}, errors.New("the WAV file's fmt chunk is cut short")
			}
			f.AudioFormat = binary.LittleEndian.Uint16(body[0:2])
			f.Channels = binary.LittleEndian.Uint16(body[2:4])
			f.SampleRate = binary.LittleEndian.Uint32(body[4:8])
			f.BitsPerSample = binary.LittleEndian.Uint16(body[14:16])
			haveFmt = true
		case "data":
			if !haveFmt {
				return Format{}, errors.New("the WAV file's audio comes before its fmt chunk")
			}
			f.DataBytes = size
			return f, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return Format{}, errors.New("the WAV file ends before its audio (no data chunk)")
			}
		}
	}
	return Format{}, errors.New("the WAV file has too many chunks before its audio")
}

// Playable says whether the service plays audio of this format: PCM,
// 16-bit, mono, at 8 or 16 kHz.
func Playable(f Format) error {
	if f.AudioFormat != pcm || f.BitsPerSample != 16 || f.Channels != 1 || (f.SampleRate != 8000 && f.SampleRate != 16000) {
		return fmt.Errorf("the WAV file is %s; the service plays 16-bit mono PCM at 8 or 16 kHz", f)
	}
	if f.DataBytes == 0 {
		return errors.New("the WAV file has no audio")
	}
	return nil
}

// Rate is the sample rate of the audio callplane writes.
const Rate = 16000

// Interval is a stretch of a recording.
type Interval struct{ From, To time.Duration }

// ReadSpeech checks audio a simulated person is to speak: a WAV file in a
// format the service plays, whose audio is all there. It returns how long
// the person speaks.
func ReadSpeech(audio []byte) (time.Duration, error) {
	r := bytes.NewReader(audio)
	f, err := ReadHeader(r)
	if err != nil {
		return 0, err
	}
	if err := Playable(f); err != nil {
		return 0, err
	}
	if int64(f.DataBytes) > int64(r.Len()) {
		return 0, fmt.Errorf("the WAV file says it has %d bytes of audio and has %d", f.DataBytes, r.Len())
	}
	return f.Duration(), nil
}

// Recording writes a WAV file (16-bit mono PCM at 16 kHz) of length d:
// silence, with a 440 Hz tone where someone spoke.
func Recording(d time.Duration, speech []Interval) []byte {
	return render(d, func(i int, at time.Duration) int16 {
		for _, s := range speech {
			if at >= s.From && at < s.To {
				return int16(8000 * math.Sin(2*math.Pi*440*float64(i)/Rate))
			}
		}
		return 0
	})
}

// VoicedRecording is Recording of someone who spoke audio of their own
// (checked by ReadSpeech): silence, and from spoke.From to spoke.To their
// audio, from its start, at 16 kHz.
func VoicedRecording(d time.Duration, spoke Interval, audio []byte) ([]byte, error) {
	r := bytes.NewReader(audio)
	f, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	if err := Playable(f); err != nil {
		return nil, err
	}
	pcm := audio[len(audio)-r.Len():]
	pcm = pcm[:min(len(pcm), int(f.DataBytes))]
	return render(d, func(_ int, at time.Duration) int16 {
		if at < spoke.From || at >= spoke.To {
			return 0
		}
		// Sample by sample at 16 kHz; 8 kHz audio repeats each sample.
		src := int((at - spoke.From) * time.Duration(f.SampleRate) / time.Second)
		if 2*src+1 >= len(pcm) {
			return 0
		}
		return int16(binary.LittleEndian.Uint16(pcm[2*src:]))
	}), nil
}

// render writes a WAV file (16-bit mono PCM at Rate) of length d, each
// sample from sample(index, time).
func render(d time.Duration, sample func(i int, at time.Duration) int16) []byte {
	samples := int(d.Seconds() * Rate)
	var b bytes.Buffer
	b.Grow(44 + 2*samples)
	header := struct {
		RIFF      [4]byte
		Size      uint32
		WAVE      [4]byte
		Fmt       [4]byte
		FmtSize   uint32
		Format    uint16
		Channels  uint16
		Rate      uint32
		ByteRate  uint32
		Align     uint16
		Bits      uint16
		Data      [4]byte
		DataBytes uint32
	}{
		RIFF: [4]byte{'R', 'I', 'F', 'F'}, Size: uint32(36 + 2*samples), WAVE: [4]byte{'W', 'A', 'V', 'E'},
		Fmt: [4]byte{'f', 'm', 't', ' '}, FmtSize: 16, Format: pcm, Channels: 1, Rate: Rate, ByteRate: 2 * Rate,
		Align: 2, Bits: 16, Data: [4]byte{'d', 'a', 't', 'a'}, DataBytes: uint32(2 * samples),
	}
	binary.Write(&b, binary.LittleEndian, header)
	out := make([]byte, 2)
	for i := range samples {
		binary.LittleEndian.PutUint16(out, uint16(sample(i, time.Duration(i)*time.Second/Rate)))
		b.Write(out)
	}
	return b.Bytes()
}
