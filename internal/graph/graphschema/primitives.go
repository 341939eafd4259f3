package graphschema

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// primitives maps each supported Edm type to a check of a non-null decoded
// JSON value, returning "" if it is valid and otherwise why not. Load rejects
// a schema that uses any other Edm type.
var primitives = map[string]func(any) string{
	"Edm.String":  jsonString("", nil),
	"Edm.Stream":  jsonString("", nil),
	"Edm.Boolean": boolean,
	"Edm.Byte":    integer(0, math.MaxUint8),
	"Edm.SByte":   integer(math.MinInt8, math.MaxInt8),
	"Edm.Int16":   integer(math.MinInt16, math.MaxInt16),
	"Edm.Int32":   integer(math.MinInt32, math.MaxInt32),
	"Edm.Int64":   integer(math.MinInt64, math.MaxInt64),
	"Edm.Single":  number(true),
	"Edm.Double":  number(true),
	"Edm.Decimal": number(false),
	"Edm.DateTimeOffset": jsonString("RFC 3339 date-time", func(s string) bool {
		_, err := time.Parse(time.RFC3339Nano, s) // fractional seconds optional
		return err == nil
	}),
	"Edm.Duration": jsonString("duration of the form [-]PnDTnHnMn.nS", func(s string) bool {
		// The pattern allows every part to be omitted; ISO 8601 does not.
		return durationRE.MatchString(s) && !strings.HasSuffix(s, "P") && !strings.HasSuffix(s, "T")
	}),
	"Edm.Guid":   jsonString("GUID", guidRE.MatchString),
	"Edm.Binary": jsonString("base64 string", isBase64),
}

// durationRE is CSDL's durationValue: ISO 8601 restricted to days and time.
var durationRE = regexp.MustCompile(`^-?P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$`)

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// jsonString accepts a JSON string for which valid (if any) holds.
func jsonString(form string, valid func(string) bool) func(any) string {
	return func(v any) string {
		s, ok := v.(string)
		if !ok {
			return "want JSON string, got " + describe(v)
		}
		if valid != nil && !valid(s) {
			return fmt.Sprintf("%q is not a valid %s", s, form)
		}
		return ""
	}
}

func boolean(v any) string {
	if _, ok := v.(bool); !ok {
		return "want JSON boolean, got " + describe(v)
	}
	return ""
}

// integer accepts a JSON number written as an integer literal within
// [lo, hi]. Strings such as "0" are rejected even though some Graph doc
// examples show them (e.g. resultInfo.code): the service sends numbers.
func integer(lo, hi int64) func(any) string {
	return func(v any) string {
		n, ok := v.(json.Number)
		if !ok {
			return "want JSON integer, got " + describe(v)
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrSyntax {
			return fmt.Sprintf("%s is not an integer", n)
		}
		if err != nil || i < lo || i > hi {
			return fmt.Sprintf("%s is out of range [%d, %d]", n, lo, hi)
		}
		return ""
	}
}

// number accepts any JSON number. OData JSON writes the IEEE 754 specials of
// Edm.Single and Edm.Double as the strings "NaN", "INF" and "-INF".
func number(specials bool) func(any) string {
	return func(v any) string {
		switch v := v.(type) {
		case json.Number:
			return ""
		case string:
			if specials && (v == "NaN" || v == "INF" || v == "-INF") {
				return ""
			}
		}
		return "want JSON number, got " + describe(v)
	}
}

// isBase64 accepts standard and URL-safe alphabets, padded or not: OData
// specifies base64url, while encoding/json writes []byte as padded standard.
func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// describe names a decoded JSON value for messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case json.Number:
		return "number " + v.String()
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case []any:
		return "array"
	case object:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
