package vin

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		digitOK bool
	}{
		{"1M8GDM9AXKP042788", true, true},  // textbook example, check digit X
		{"11111111111111111", true, true},  // all ones: check digit 1
		{"6AHFT68CKAF501652", true, false}, // from document 002: not North American
		{" wdd2130041a000001 ", true, false},
		{"1HMSJBPPO6X2VVVP5", false, false}, // contains O
		{"1M8GDM9AXKP04278", false, false},  // 16 characters
		{"1M8GDM9AXKP0427888", false, false},
		{"", false, false},
		{"1M8GDM9AXKP04278Q", false, false},
	}
	for _, tt := range tests {
		r, err := Check(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Check(%q) error %v does not wrap ErrInvalid", tt.in, err)
			}
			continue
		}
		if r.CheckDigitOK != tt.digitOK {
			t.Errorf("Check(%q).CheckDigitOK = %v, want %v (expected digit %q)", tt.in, r.CheckDigitOK, tt.digitOK, r.Expected)
		}
		if (r.Warning() == "") != tt.digitOK {
			t.Errorf("Check(%q).Warning() = %q", tt.in, r.Warning())
		}
	}
}

func TestValidAndPlausible(t *testing.T) {
	if !Valid("1M8GDM9AXKP042788") || Valid("1HMSJBPPO6X2VVVP5") || Valid("1m8gdm9axkp042788") {
		t.Error("Valid: wrong verdicts")
	}
	if !Plausible("1HMSJBPPO6X2VVVP5") || Plausible("26ace79449aae32d80dd5315a23e795da9323626") || Plausible("1HMSJBPPO6X2VVVP") {
		t.Error("Plausible: wrong verdicts")
	}
}
