package call

import (
	"net/url"
	"strconv"
	"unicode/utf8"
)

// MaxURLLength bounds the URLs callplane keeps and connects to.
const MaxURLLength = 2048

// CheckCallbackURL accepts what the service may POST to: an absolute http
// or https URL with a host, a port from 1 to 65535 if it names one, and no
// user info. field names the URL in the error. The same rule holds for a
// call's callbackUri, an application's calling webhook and every redirect
// a bot answers with.
func CheckCallbackURL(field, raw string) error {
	if raw == "" {
		return invalid("%s is required", field)
	}
	if utf8.RuneCountInString(raw) > MaxURLLength {
		return invalid("%s is limited to %d characters", field, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" {
		return invalid("%s must be an absolute URL, got %q", field, raw)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return invalid("%s must use https or http, got %q", field, u.Scheme)
	}
	if u.User != nil {
		return invalid("%s must not carry user info", field)
	}
	if _, err := URLPort(u); err != nil {
		return invalid("%s: %v", field, err)
	}
	return nil
}

// URLPort returns the port a URL names, 0 if it names none; a port outside
// 1 to 65535 is an error.
func URLPort(u *url.URL) (int, error) {
	p := u.Port()
	if p == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, invalid("port %s is not from 1 to 65535", p)
	}
	return n, nil
}
