package fleetsim

import (
	"math/rand/v2"
	"time"

	"github.com/fleetdeck/fleetdeck/vin"
)

// DefaultFleet is the sandbox's fleet: every clearance state, realistic VINs
// (North American ones with correct check digits, some European ones with
// check digits that do not match, which is legal there) and changelogs.
//
// Three vehicles change on their own: the renault is pending and is
// approved after TransitionDelay, the jeep finishes revoking after a minute
// and the opel finishes canceling after two. The sandbox-brand vehicle is
// document 000's own example (its VIN has an O, as High Mobility's emulator
// VINs may) and stays pending, as do a volkswagen and a skoda whose OEM
// activation takes days: those two can be canceled (their brands can), the
// renault and the sandbox one cannot (422).
func DefaultFleet(now time.Time) []Vehicle {
	ago := func(d time.Duration) time.Time { return now.Add(-d).Truncate(time.Second) }
	const day = 24 * time.Hour
	approved := func(v, brand string, since time.Duration, tags map[string]string) Vehicle {
		return Vehicle{VIN: v, Brand: brand, Status: StatusApproved, Tags: tags, Changelog: []Change{
			{Timestamp: ago(since), Status: StatusPending},
			{Timestamp: ago(since - 5*time.Hour), Status: StatusApproved},
		}}
	}
	depot := func(name string) map[string]string { return map[string]string{"depot": name} }
	return []Vehicle{
		approved("WBA5R1C51KAJ98123", "bmw", 41*day, depot("Lisbon")),
		approved("W1KZF8DB1LA123874", BrandMercedesBenz, 33*day, map[string]string{"vw-group-customer-name": "Car Operations Ltd."}),
		approved("1FTFW1E57MFA12345", "ford", 30*day, depot("Porto")),
		approved("WP0ZZZ99ZKS123456", "porsche", 22*day, nil),
		approved("VF3MCYHZRKS123478", "peugeot", 15*day, depot("Lisbon")),
		approved("5YJ3E1EA6KF123456", "tesla", 9*day, nil),
		approved("WMWXU1C53K2F12345", "mini", 4*day, depot("Braga")),
		{VIN: "VF1RJA00X63123491", Brand: "renault", Status: StatusPending, Changelog: []Change{
			{Timestamp: ago(2 * time.Minute), Status: StatusPending},
		}},
		{VIN: "1HMSJBPPO6X2VVVP5", Brand: "sandbox", Status: StatusPending, Settle: -1, Changelog: []Change{
			{Timestamp: ago(3 * day), Status: StatusPending},
		}},
		{VIN: "WVWZZZAUZLW912345", Brand: "volkswagen", Status: StatusPending, Settle: -1, Tags: depot("Porto"), Changelog: []Change{
			{Timestamp: ago(2*day + 3*time.Hour), Status: StatusPending},
		}},
		{VIN: "TMBJB7NS0L8512345", Brand: "skoda", Status: StatusPending, Settle: -1, Changelog: []Change{
			{Timestamp: ago(26 * time.Hour), Status: StatusPending},
		}},
		{VIN: "1C4RJFAG0FC625797", Brand: "jeep", Status: StatusRevoking, Settle: time.Minute, Changelog: []Change{
			{Timestamp: ago(60 * day), Status: StatusPending},
			{Timestamp: ago(59 * day), Status: StatusApproved},
			{Timestamp: ago(10 * time.Minute), Status: StatusRevoking},
		}},
		{VIN: "YV1XZ16E1N2123456", Brand: "volvo-cars", Status: StatusRevoked, Changelog: []Change{
			{Timestamp: ago(90 * day), Status: StatusPending},
			{Timestamp: ago(89 * day), Status: StatusApproved},
			{Timestamp: ago(12 * day), Status: StatusRevoking},
			{Timestamp: ago(12*day - 40*time.Minute), Status: StatusRevoked},
		}},
		{VIN: "VR1UJZKXZLW120000", Brand: "ds", Status: StatusRejected, Reason: "vehicle not found at OEM", Changelog: []Change{
			{Timestamp: ago(6 * day), Status: StatusPending},
			{Timestamp: ago(6*day - 2*time.Hour), Status: StatusRejected},
		}},
		{VIN: "W0LF7DC36RV123456", Brand: "opel", Status: StatusCanceling, Settle: 2 * time.Minute, Changelog: []Change{
			{Timestamp: ago(2 * day), Status: StatusPending},
			{Timestamp: ago(5 * time.Minute), Status: StatusCanceling},
		}},
		{VIN: "ZFA3120000J123478", Brand: "fiat", Status: StatusCanceled, Changelog: []Change{
			{Timestamp: ago(20 * day), Status: StatusPending},
			{Timestamp: ago(19 * day), Status: StatusCanceling},
			{Timestamp: ago(19*day - 30*time.Minute), Status: StatusCanceled},
		}},
	}
}

// wmis are real world manufacturer identifiers per brand; the first
// character 1-5 marks North America, where the check digit is mandatory.
var wmis = []struct{ brand, wmi string }{
	{"bmw", "WBA"}, {BrandMercedesBenz, "W1K"}, {"ford", "1FA"}, {"porsche", "WP0"}, {"peugeot", "VF3"},
	{"tesla", "5YJ"}, {"mini", "WMW"}, {"renault", "VF1"}, {"jeep", "1C4"}, {"volvo-cars", "YV1"},
	{"ds", "VR1"}, {"opel", "W0L"}, {"fiat", "ZFA"}, {"toyota", "JTD"}, {"citroen", "VF7"}, {"kia", "KNA"},
	{"volkswagen", "WVW"}, {"skoda", "TMB"}, {"audi", "WAU"}, {"sandbox", "1HM"},
}

const vinChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

// Fleet returns DefaultFleet followed, when n is larger, by generated
// vehicles up to n in all. Generation is deterministic (same n, same VINs):
// about 85% approved, the rest spread over the other states.
func Fleet(n int, now time.Time) []Vehicle {
	out := DefaultFleet(now)
	if n <= len(out) {
		return out
	}
	rng := rand.New(rand.NewPCG(0x5eed, uint64(n)))
	seen := make(map[string]bool, n)
	for _, v := range out {
		seen[v.VIN] = true
	}
	const day = 24 * time.Hour
	for i := len(out); i < n; i++ {
		w := wmis[rng.IntN(len(wmis))]
		var id string
		for {
			id = generateVIN(rng, w.wmi)
			if !seen[id] {
				break
			}
		}
		seen[id] = true
		start := now.Add(-time.Duration(1+rng.IntN(365*24)) * time.Hour).Truncate(time.Second)
		step := func(k int) time.Time { return start.Add(time.Duration(k) * 3 * time.Hour) }
		v := Vehicle{VIN: id, Brand: w.brand}
		switch p := i % 100; {
		case p < 85:
			v.Status = StatusApproved
			v.Changelog = []Change{{step(0), StatusPending, ""}, {step(1), StatusApproved, ""}}
		case p < 89:
			v.Status = StatusPending
			v.Changelog = []Change{{now.Add(-time.Minute).Truncate(time.Second), StatusPending, ""}}
		case p < 91:
			v.Status = StatusRevoking
			v.Changelog = []Change{{step(0), StatusPending, ""}, {step(1), StatusApproved, ""}, {now.Add(-time.Minute).Truncate(time.Second), StatusRevoking, ""}}
		case p < 94:
			v.Status = StatusRevoked
			v.Changelog = []Change{{step(0), StatusPending, ""}, {step(1), StatusApproved, ""}, {step(2), StatusRevoking, ""}, {step(3), StatusRevoked, ""}}
		case p < 96:
			v.Status = StatusRejected
			v.Reason = "vehicle not found at OEM"
			v.Changelog = []Change{{step(0), StatusPending, ""}, {step(1), StatusRejected, ""}}
		case p < 98:
			v.Status = StatusCanceling
			v.Changelog = []Change{{step(0), StatusPending, ""}, {now.Add(-time.Minute).Truncate(time.Second), StatusCanceling, ""}}
		default:
			v.Status = StatusCanceled
			v.Changelog = []Change{{step(0), StatusPending, ""}, {step(1), StatusCanceling, ""}, {step(1).Add(day / 48), StatusCanceled, ""}}
		}
		out = append(out, v)
	}
	return out
}

// generateVIN builds a syntactically valid VIN for wmi. North American ones
// get their check digit; elsewhere position 9 is random, as it may be.
// The serial never ends in "000", which the clearance rules reserve for
// rejections.
func generateVIN(rng *rand.Rand, wmi string) string {
	b := []byte(wmi + "00000000000000")
	for i := 3; i < 8; i++ {
		b[i] = vinChars[rng.IntN(len(vinChars))]
	}
	b[8] = vinChars[rng.IntN(len(vinChars))]
	b[9] = "KLMNPRSTV"[rng.IntN(9)]                 // model year 2019-2027
	b[10] = "ABCDEFGHJKLMNPRSTUVWXYZ"[rng.IntN(23)] // plant
	for i := 11; i < 17; i++ {
		b[i] = byte('0' + rng.IntN(10))
	}
	if string(b[14:]) == "000" {
		b[16] = '1'
	}
	if wmi[0] >= '1' && wmi[0] <= '5' {
		if r, err := vin.Check(string(b)); err == nil {
			b[8] = r.Expected
		}
	}
	return string(b)
}
