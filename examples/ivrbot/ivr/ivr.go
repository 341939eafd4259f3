// Package ivr is a small IVR calling bot, written against the Microsoft
// Graph calls API with the standard library only: it answers incoming
// calls, plays a menu, and on the caller's key transfers them to sales (1)
// or records a message (2), downloads it, says goodbye and hangs up. It is
// callplane's reference bot: its scenarios (../scenarios) describe what it
// must do, and callplane judges it by them.
package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config is where the bot's Graph is and who it is there.
type Config struct {
	// GraphURL is the Graph base URL, https://graph.microsoft.com/v1.0 or
	// callplane's.
	GraphURL string
	// TokenEndpoint, ClientID and ClientSecret get the bot its token
	// (client credentials).
	TokenEndpoint, ClientID, ClientSecret string
	// CallbackURL is where Graph is to send the notifications of the calls
	// the bot answers: this bot's /api/calls, as Graph reaches it.
	CallbackURL string
	// Menu and Goodbye are the prompts' URLs (WAV files); SalesUserID is
	// whom key 1 transfers to.
	Menu, Goodbye, SalesUserID string
	Log                        *slog.Logger
}

// Bot is the IVR.
type Bot struct {
	cfg    Config
	client *http.Client

	mu    sync.Mutex
	token string
	until time.Time
	calls map[string]*callState
}

// callState is what the bot remembers of a call.
type callState struct {
	established bool
	goodbyeOp   string
}

// New returns the bot; serve Handler on the webhook and callback URLs.
func New(cfg Config) *Bot {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Bot{cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}, calls: map[string]*callState{}}
}

// Handler receives Graph's notifications, on the calling webhook
// (/api/calling) and on the calls' callback URL (/api/calls) alike. It
// acknowledges at once and acts afterwards: Graph wants its answer quickly.
func (b *Bot) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body notifications
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
			http.Error(w, "not a commsNotifications body", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		go func() {
			for _, n := range body.Value {
				if err := b.handle(n); err != nil {
					b.cfg.Log.Error("ivr: handling a notification", "resource", n.ResourceURL, "err", err)
				}
			}
		}()
	})
}

type notifications struct {
	Value []notification `json:"value"`
}

type notification struct {
	ChangeType   string          `json:"changeType"`
	ResourceURL  string          `json:"resourceUrl"`
	ResourceData json.RawMessage `json:"resourceData"`
}

// resource is what the bot reads of a call or an operation.
type resource struct {
	State    string `json:"state"`
	ToneInfo *struct {
		Tone string `json:"tone"`
	} `json:"toneInfo"`
	RecordingLocation    string `json:"recordingLocation"`
	RecordingAccessToken string `json:"recordingAccessToken"`
}

func (b *Bot) handle(n notification) error {
	var res resource
	json.Unmarshal(n.ResourceData, &res) // a roster is a list: not read here
	callID, opID := parseResource(n.ResourceURL)
	if callID == "" {
		return nil
	}
	switch {
	case opID != "" && n.ChangeType == "deleted":
		return b.operationFinished(callID, opID, res)
	case opID != "":
		return nil
	case n.ChangeType == "created" && res.State == "incoming":
		return b.post(callID, "answer", map[string]any{
			"callbackUri":        b.cfg.CallbackURL,
			"acceptedModalities": []string{"audio"},
			"mediaConfig":        map[string]any{"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"},
		})
	case n.ChangeType == "deleted":
		b.mu.Lock()
		delete(b.calls, callID)
		b.mu.Unlock()
		return nil
	case res.State == "established" && res.ToneInfo != nil:
		return b.pressed(callID, res.ToneInfo.Tone)
	case res.State == "established":
		return b.established(callID)
	}
	return nil
}

// established greets a caller once: tones first, so that no key is missed,
// then the menu.
func (b *Bot) established(callID string) error {
	b.mu.Lock()
	c := b.call(callID)
	first := !c.established
	c.established = true
	b.mu.Unlock()
	if !first {
		return nil
	}
	if err := b.post(callID, "subscribeToTone", map[string]any{"clientContext": "menu"}); err != nil {
		return err
	}
	return b.post(callID, "playPrompt", prompts("menu", b.cfg.Menu))
}

// pressed routes the caller by their key.
func (b *Bot) pressed(callID, tone string) error {
	switch tone {
	case "tone1":
		return b.post(callID, "transfer", map[string]any{"transferTarget": map[string]any{
			"@odata.type": "#microsoft.graph.invitationParticipantInfo",
			"identity":    map[string]any{"user": map[string]any{"id": b.cfg.SalesUserID, "displayName": "Sales"}},
		}})
	case "tone2":
		return b.post(callID, "recordResponse", map[string]any{
			"clientContext": "message", "playBeep": true, "maxSilenceTimeoutInSeconds": 2, "maxRecordDurationInSeconds": 60,
			"stopTones": []string{"#"},
		})
	}
	return b.post(callID, "playPrompt", prompts("menu", b.cfg.Menu)) // another key: the menu again
}

// operationFinished downloads a recorded message and says goodbye, and
// hangs up once goodbye has played.
func (b *Bot) operationFinished(callID, opID string, op resource) error {
	switch {
	case op.RecordingLocation != "": // a recording that captured something
		size, err := b.download(op.RecordingLocation, op.RecordingAccessToken)
		if err != nil {
			return err
		}
		b.cfg.Log.Info("ivr: a message recorded", "call", callID, "bytes", size)
		id, err := b.postOperation(callID, "playPrompt", prompts("goodbye", b.cfg.Goodbye))
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.call(callID).goodbyeOp = id
		b.mu.Unlock()
	default:
		b.mu.Lock()
		goodbye := b.call(callID).goodbyeOp == opID
		b.mu.Unlock()
		if goodbye {
			return b.hangUp(callID)
		}
	}
	return nil
}

func (b *Bot) call(id string) *callState {
	c, ok := b.calls[id]
	if !ok {
		c = &callState{}
		b.calls[id] = c
	}
	return c
}

func prompts(name, uri string) map[string]any {
	return map[string]any{"clientContext": name, "prompts": []any{map[string]any{
		"@odata.type": "#microsoft.graph.mediaPrompt",
		"mediaInfo":   map[string]any{"uri": uri, "resourceId": name},
	}}}
}

// parseResource splits /communications/calls/{id}[/operations/{op}].
func parseResource(resourceURL string) (callID, opID string) {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(resourceURL, "/"), "communications/calls/")
	if !ok {
		return "", ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) == 3 && parts[1] == "operations" {
		return parts[0], parts[2]
	}
	if len(parts) == 1 {
		return parts[0], ""
	}
	return "", ""
}

// post sends an action on a call.
func (b *Bot) post(callID, action string, body any) error {
	_, err := b.postOperation(callID, action, body)
	return err
}

// postOperation sends an action and returns the id of the operation it
// answered with, if any.
func (b *Bot) postOperation(callID, action string, body any) (string, error) {
	data, err := b.graph(http.MethodPost, "/communications/calls/"+callID+"/"+action, body)
	if err != nil {
		return "", err
	}
	var op struct {
		ID string `json:"id"`
	}
	json.Unmarshal(data, &op)
	return op.ID, nil
}

func (b *Bot) hangUp(callID string) error {
	_, err := b.graph(http.MethodDelete, "/communications/calls/"+callID, nil)
	return err
}

// graph sends a Graph request with the bot's token.
func (b *Bot) graph(method, path string, body any) ([]byte, error) {
	token, err := b.accessToken()
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.cfg.GraphURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return data, nil
}

// download fetches a recording with its access token and returns its size.
func (b *Bot) download(location, token string) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, location, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("download %s: %s", location, resp.Status)
	}
	return io.Copy(io.Discard, resp.Body)
}

// accessToken returns a token, fetching one with the client credentials
// when the last is about to expire.
func (b *Bot) accessToken() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.token != "" && time.Now().Before(b.until) {
		return b.token, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {b.cfg.ClientID}, "client_secret": {b.cfg.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("token: %s %s %v", resp.Status, t.Error, err)
	}
	b.token, b.until = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second-5*time.Minute)
	return b.token, nil
}
