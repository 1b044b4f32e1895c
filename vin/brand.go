package vin

// wmiBrands maps a World Manufacturer Identifier (the first three characters
// of a VIN) to the brands, as the fleet API names them, whose cars carry it,
// most likely first. A WMI names a manufacturer and a plant, not a badge:
// SEAT's VSS is on Cupras too, Opel's W0L and W0V on Vauxhalls, so those
// list both and the operator picks. Only codes seen on passenger cars of the
// fleet API's brands are here; an unknown WMI proposes nothing.
var wmiBrands = map[string][]string{
	// Mercedes-Benz: cars, SUVs and vans, old and new series.
	"WDB": {"mercedes-benz"}, "WDC": {"mercedes-benz"}, "WDD": {"mercedes-benz"}, "WDF": {"mercedes-benz"},
	"W1K": {"mercedes-benz"}, "W1N": {"mercedes-benz"}, "W1V": {"mercedes-benz"},
	// BMW (WBS: M, WBY: i; 5UX: Spartanburg's X models) and MINI.
	"WBA": {"bmw"}, "WBS": {"bmw"}, "WBY": {"bmw"}, "WBX": {"bmw"}, "5UX": {"bmw"},
	"WMW": {"mini"}, "WMZ": {"mini"},
	"WP0": {"porsche"}, "WP1": {"porsche"},
	// Volkswagen: cars, commercial, vans, SUVs; Mexico and the US.
	"WVW": {"volkswagen"}, "WV1": {"volkswagen"}, "WV2": {"volkswagen"}, "WVG": {"volkswagen"},
	"3VW": {"volkswagen"}, "1VW": {"volkswagen"},
	"WAU": {"audi"}, "WUA": {"audi"}, "WA1": {"audi"}, "TRU": {"audi"},
	"TMB": {"skoda"},
	"VSS": {"seat", "cupra"},
	"VF1": {"renault"}, "UU1": {"dacia"},
	"VF3": {"peugeot"}, "VR3": {"peugeot"},
	"VF7": {"citroen"}, "VR7": {"citroen"},
	"VR1": {"ds"},
	"W0L": {"opel", "vauxhall"}, "W0V": {"opel", "vauxhall"}, "VXK": {"opel", "vauxhall"},
	"ZFA": {"fiat"}, "ZAR": {"alfaromeo"}, "ZAM": {"maserati"},
	"1C4": {"jeep"}, "1J4": {"jeep"}, "ZAC": {"jeep"},
	"1FA": {"ford"}, "1FM": {"ford"}, "1FT": {"ford"}, "WF0": {"ford"},
	"5YJ": {"tesla"}, "7SA": {"tesla"}, "LRW": {"tesla"}, "XP7": {"tesla"},
	"YV1": {"volvo-cars"}, "YV4": {"volvo-cars"},
	"LPS": {"polestar"},
	"KNA": {"kia"}, "KND": {"kia"}, "U5Y": {"kia"},
	"JTH": {"lexus"}, "JTJ": {"lexus"},
	"JTD": {"toyota"}, "JTE": {"toyota"}, "JTM": {"toyota"}, "JTN": {"toyota"},
	"SB1": {"toyota"}, "VNK": {"toyota"}, "NMT": {"toyota"}, "4T1": {"toyota"},
	"JN1": {"nissan"}, "JN8": {"nissan"}, "SJN": {"nissan"}, "VSK": {"nissan"}, "5N1": {"nissan"},
}

// Brand proposes the brand a VIN's manufacturer code (its first three
// characters) points to, spelled as the fleet API spells brands
// ("mercedes-benz", "volvo-cars", "alfaromeo"). ok is false when the code is
// not known. Where several brands share the code (VSS: seat and cupra), it
// is the first of Brands: a proposal for the operator to confirm, never a
// fact to send unasked.
func Brand(v string) (brand string, ok bool) {
	bs := Brands(v)
	if len(bs) == 0 {
		return "", false
	}
	return bs[0], true
}

// Brands lists every brand whose cars carry v's manufacturer code, most
// likely first; nil when the code is not known. v is normalized first; only
// its first three characters are read, so a VIN still being typed works.
func Brands(v string) []string {
	v = Normalize(v)
	if len(v) < 3 {
		return nil
	}
	bs := wmiBrands[v[:3]]
	if bs == nil {
		return nil
	}
	return append([]string(nil), bs...)
}

// WMI is v's World Manufacturer Identifier (its first three characters,
// normalized), or "" when v is shorter.
func WMI(v string) string {
	v = Normalize(v)
	if len(v) < 3 {
		return ""
	}
	return v[:3]
}
