package auth

import (
	"encoding/json"

	"github.com/golang-jwt/jwt/v5"
)

// registeredClaims are the standard claims, with the audience written as
// Entra and the calling service write it: a string when there is one
// audience. (jwt/v5 writes an array, and bots that compare aud to their app
// id as a string would refuse it.)
type registeredClaims struct {
	jwt.RegisteredClaims
	Audience audience `json:"aud,omitempty"`
}

// GetAudience lets the parser validate the audience this type carries.
func (c registeredClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

// audience reads a string or an array of strings and writes a single
// audience as a string.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var cs jwt.ClaimStrings
	if err := cs.UnmarshalJSON(b); err != nil {
		return err
	}
	*a = audience(cs)
	return nil
}
