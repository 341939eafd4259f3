package sim

import (
	"encoding/json"
	"slices"
	"time"
)

// DeviceQuality is a quality report a bot logged with
// logTeleconferenceDeviceQuality, kept for inspection.
type DeviceQuality struct {
	AppID      string          `json:"appId"`
	ReceivedAt time.Time       `json:"receivedDateTime"`
	Quality    json.RawMessage `json:"quality"`
}

// maxDeviceQuality bounds the reports kept: the latest ones.
const maxDeviceQuality = 100

// LogDeviceQuality keeps a validated report. Reports are this node's: they
// inform a test of what its bot logged, and are not part of any call.
func (w *World) LogDeviceQuality(appID string, quality json.RawMessage) {
	w.qualityMu.Lock()
	defer w.qualityMu.Unlock()
	w.quality = append(w.quality, DeviceQuality{AppID: appID, ReceivedAt: w.now().UTC(), Quality: slices.Clone(quality)})
	if n := len(w.quality); n > maxDeviceQuality {
		w.quality = slices.Delete(w.quality, 0, n-maxDeviceQuality)
	}
}

// DeviceQuality lists the kept reports, oldest first.
func (w *World) DeviceQuality() []DeviceQuality {
	w.qualityMu.Lock()
	defer w.qualityMu.Unlock()
	return slices.Clone(w.quality)
}
