package vin_test

import (
	"slices"
	"testing"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/vin"
)

func TestBrand(t *testing.T) {
	for _, tc := range []struct {
		vin, want string
	}{
		{"W1KZF8DB1LA999874", "mercedes-benz"},
		{"WDD2130041A000001", "mercedes-benz"},
		{"w1n2530041a000001", "mercedes-benz"}, // normalized first
		{" WBA5R1C51KAJ98123", "bmw"},
		{"WBS", "bmw"}, // three characters are enough while typing
		{"WBY", "bmw"},
		{"WMWXP7C50K2A12345", "mini"},
		{"WP0ZZZ99ZTS392124", "porsche"},
		{"WP1", "porsche"},
		{"WVWZZZ1KZAW000001", "volkswagen"},
		{"WV1", "volkswagen"}, {"WV2", "volkswagen"}, {"WVG", "volkswagen"},
		{"WAUZZZ8V0KA000001", "audi"}, {"WUA", "audi"},
		{"TMBJJ7NE0L0000001", "skoda"},
		{"VSSZZZ5FZLR000001", "seat"},
		{"VF1", "renault"}, {"VF3", "peugeot"}, {"VF7", "citroen"}, {"VR1", "ds"},
		{"W0L", "opel"}, {"ZFA", "fiat"}, {"1C4", "jeep"},
		{"1FTFW1E50MFA00001", "ford"}, {"1FA", "ford"},
		{"5YJ3E1EA7KF317000", "tesla"},
		{"YV1", "volvo-cars"},
		{"ZAR", "alfaromeo"},
	} {
		got, ok := vin.Brand(tc.vin)
		if !ok || got != tc.want {
			t.Errorf("Brand(%q) = %q, %v; want %q", tc.vin, got, ok, tc.want)
		}
	}
}

func TestBrandUnknown(t *testing.T) {
	// 1HM is the sandbox emulator's, 111 no manufacturer we know; two characters are too few.
	for _, v := range []string{"1HMSJBPPO6X2VVVP5", "11111111111111111", "WB", "", "wb"} {
		if b, ok := vin.Brand(v); ok || b != "" {
			t.Errorf("Brand(%q) = %q, %v; want nothing", v, b, ok)
		}
		if bs := vin.Brands(v); bs != nil {
			t.Errorf("Brands(%q) = %v; want nil", v, bs)
		}
	}
}

func TestBrandsSharedCodes(t *testing.T) {
	if got := vin.Brands("VSSZZZ5FZLR000001"); !slices.Equal(got, []string{"seat", "cupra"}) {
		t.Errorf("Brands(VSS…) = %v", got)
	}
	if got := vin.Brands("W0VBD6EB5LG000001"); !slices.Equal(got, []string{"opel", "vauxhall"}) {
		t.Errorf("Brands(W0V…) = %v", got)
	}
	// The caller owns the slice it gets.
	vin.Brands("VSS")[0] = "trabant"
	if b, _ := vin.Brand("VSS"); b != "seat" {
		t.Errorf("Brands leaked its table: Brand(VSS) = %q", b)
	}
}

// Every brand proposed is one the fleet client accepts, spelled its way.
func TestBrandNamesAreTheFleetAPIs(t *testing.T) {
	seen := map[string]bool{}
	for _, c1 := range "0123456789ABCDEFGHJKLMNPRSTUVWXYZ" {
		for _, c2 := range "0123456789ABCDEFGHJKLMNPRSTUVWXYZ" {
			for _, c3 := range "0123456789ABCDEFGHJKLMNPRSTUVWXYZ" {
				for _, b := range vin.Brands(string([]rune{c1, c2, c3})) {
					seen[b] = true
				}
			}
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d brands proposed", len(seen))
	}
	for b := range seen {
		if !fleet.KnownBrand(b) {
			t.Errorf("proposed brand %q is not one the fleet client knows (%v)", b, fleet.Brands())
		}
	}
}

func TestWMI(t *testing.T) {
	if got := vin.WMI(" w1kzf8db1la999874"); got != "W1K" {
		t.Errorf("WMI = %q", got)
	}
	if got := vin.WMI("W1"); got != "" {
		t.Errorf("WMI(short) = %q", got)
	}
}
