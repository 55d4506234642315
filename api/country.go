package api

import (
	"fmt"
	"strings"

	"github.com/labstack/echo/v5"
)

// canonicalCountry makes the :country of a path its canonical spelling: country codes are ISO
// 3166 codes of two or three capital letters, so "at" is AT. Without this a lowercase code met
// the policy before anything else and answered 403, which told the caller nothing useful. A
// value that cannot be a code at all is answered 404, saying so.
func canonicalCountry(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		pv := c.PathValues()
		for i, v := range pv {
			if v.Name != "country" {
				continue
			}
			if !countryCodeShape(v.Value) {
				return newProblem(kindNotFound, fmt.Sprintf("country code %q is not known: a country is named by its ISO 3166 code of 2 or 3 letters, such as AT", v.Value),
					FieldError{Field: "country", Reason: "is not a known country code"})
			}
			if up := strings.ToUpper(v.Value); up != v.Value {
				next := append(echo.PathValues(nil), pv...)
				next[i].Value = up
				c.SetPathValues(next)
			}
		}
		return next(c)
	}
}

func countryCodeShape(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}
