// Package vin checks Vehicle Identification Numbers (ISO 3779).
//
// The rule the fleet API enforces is the character set and length: 17
// characters of [A-HJ-NPR-Z0-9] (I, O and Q are never used). The check digit
// in position 9 is only mandatory for North American vehicles, so a mismatch
// is reported as a warning rather than an error.
package vin

import (
	"errors"
	"fmt"
	"strings"
)

// Length is the length of every VIN.
const Length = 17

// ErrInvalid is wrapped by every error Check returns.
var ErrInvalid = errors.New("invalid VIN")

// Result describes a VIN that passed the mandatory checks.
type Result struct {
	VIN string // normalized: upper case, surrounding space removed
	// CheckDigitOK is false when position 9 does not match the computed
	// check digit. Only North American VINs must match.
	CheckDigitOK bool
	// Expected is the check digit position 9 should hold.
	Expected byte
}

// Warning returns a human sentence when the check digit does not match, or "".
func (r Result) Warning() string {
	if r.CheckDigitOK {
		return ""
	}
	return fmt.Sprintf("check digit is %q, expected %q (only mandatory for North American vehicles)", r.VIN[8], r.Expected)
}

// Normalize upper-cases s and trims surrounding white space.
func Normalize(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Check validates s (after Normalize) and computes its check digit.
func Check(s string) (Result, error) {
	v := Normalize(s)
	if len(v) != Length {
		return Result{}, fmt.Errorf("%w %q: must be %d characters, got %d", ErrInvalid, clip(v), Length, len(v))
	}
	for i := 0; i < len(v); i++ {
		if value(v[i]) < 0 {
			return Result{}, fmt.Errorf("%w %q: character %d (%q) is not allowed (letters I, O, Q never appear in a VIN)", ErrInvalid, v, i+1, v[i])
		}
	}
	want := checkDigit(v)
	return Result{VIN: v, CheckDigitOK: v[8] == want, Expected: want}, nil
}

// Valid reports whether s is a syntactically valid VIN (check digit ignored).
func Valid(s string) bool {
	if len(s) != Length {
		return false
	}
	for i := 0; i < len(s); i++ {
		if value(s[i]) < 0 {
			return false
		}
	}
	return true
}

// Plausible reports whether s has the shape of a VIN: 17 upper-case letters or
// digits. Some test fleets (High Mobility's own sandbox, for one) hand out VINs
// containing I, O or Q; code that only has to tell a VIN from a pseudonym uses
// this looser test so it does not mistake such a VIN for a pseudonym.
func Plausible(s string) bool {
	if len(s) != Length {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var weights = [Length]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

func checkDigit(v string) byte {
	sum := 0
	for i := 0; i < Length; i++ {
		sum += value(v[i]) * weights[i]
	}
	r := sum % 11
	if r == 10 {
		return 'X'
	}
	return byte('0' + r)
}

// value is the ISO 3779 transliteration of c, or -1 when c may not appear.
func value(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'H':
		return int(c-'A') + 1
	case c >= 'J' && c <= 'N':
		return int(c-'J') + 1
	case c == 'P':
		return 7
	case c == 'R':
		return 9
	case c >= 'S' && c <= 'Z':
		return int(c-'S') + 2
	}
	return -1
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
