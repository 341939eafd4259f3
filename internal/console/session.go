package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sessions. A session is its expiry, signed: "v1.EXPIRY.MAC", where EXPIRY
// is Unix seconds and MAC is HMAC-SHA256 over "v1.EXPIRY" with a key
// derived from the admin secret. Nothing is kept on the server, so every
// node that has the secret accepts the cookie of every other, and changing
// the admin secret ends every session. Signing out clears the browser's
// cookie; a copy of it taken before stays valid until it expires.
const (
	cookieName      = "callplane_console"
	sessionLifetime = 12 * time.Hour
	sessionVersion  = "v1"
)

// sessionKey derives the key sessions are signed with from the admin
// secret, so that the MAC never is a function of the secret alone that
// another use of it could produce.
func sessionKey(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("callplane console session key v1"))
	return m.Sum(nil)
}

func (c *Console) mac(payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// issue returns a session valid for sessionLifetime from now.
func (c *Console) issue(now time.Time) string {
	payload := sessionVersion + "." + strconv.FormatInt(now.Add(sessionLifetime).Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(c.mac(payload))
}

// verify returns the session's expiry if it is one of ours and runs still.
func (c *Console) verify(value string, now time.Time) (time.Time, bool) {
	if c.Secret == "" || len(value) > 200 {
		return time.Time{}, false
	}
	version, rest, ok := strings.Cut(value, ".")
	if !ok || version != sessionVersion {
		return time.Time{}, false
	}
	exp, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return time.Time{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(version+"."+exp)) {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	expires := time.Unix(n, 0)
	if !now.Before(expires) {
		return time.Time{}, false
	}
	return expires, true
}

func (c *Console) sessionExpiry(r *http.Request) (time.Time, bool) {
	cookie, err := r.Cookie(cookieName)
	if err != nil {
		return time.Time{}, false
	}
	return c.verify(cookie.Value, c.Now())
}

func (c *Console) validSession(r *http.Request) bool {
	_, ok := c.sessionExpiry(r)
	return ok
}

// sessionCookie is the session cookie holding value: only for the
// console's paths, never sent cross-site, out of the page scripts' reach,
// and over TLS only when it came over TLS.
func (c *Console) sessionCookie(r *http.Request, value string) *http.Cookie {
	return &http.Cookie{
		Name:     cookieName,
		Value:    value,
		Path:     "/console",
		MaxAge:   int(sessionLifetime / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}
