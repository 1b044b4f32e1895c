package fleet

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Status is a vehicle's clearance state. Values the API adds later are kept
// verbatim (sanitized), so the UI can show them as they are.
type Status string

// The documented clearance states, plus "error" for a row the API refused.
const (
	StatusApproved  Status = "approved"
	StatusPending   Status = "pending"
	StatusRevoking  Status = "revoking"
	StatusRevoked   Status = "revoked"
	StatusRejected  Status = "rejected"
	StatusCanceling Status = "canceling"
	StatusCanceled  Status = "canceled"
	StatusError     Status = "error"
)

// Known reports whether s is one of the documented states.
func (s Status) Known() bool {
	switch s {
	case StatusApproved, StatusPending, StatusRevoking, StatusRevoked,
		StatusRejected, StatusCanceling, StatusCanceled, StatusError:
		return true
	}
	return false
}

// Terminal reports whether the clearance is at rest: no transition is under
// way, so polling it again will not show a change by itself. Unknown states
// are not terminal (keep watching them).
func (s Status) Terminal() bool {
	switch s {
	case StatusApproved, StatusRevoked, StatusRejected, StatusCanceled, StatusError:
		return true
	}
	return false
}

// BrandMercedesBenz is the brand whose clearance needs an odometer reading.
const BrandMercedesBenz = "mercedes-benz"

// BrandSandbox is High Mobility's emulated brand (its VINs may contain
// letters real VINs never use).
const BrandSandbox = "sandbox"

// brands is the brand enum of High Mobility's published Fleet Clearance
// reference, sandbox included.
var brands = []string{
	"alfaromeo", "audi", "bmw", "citroen", "cupra", "dacia", "ds", "fiat", "ford",
	"jeep", "kia", "lexus", "maserati", "mercedes-benz", "mini", "nissan", "opel",
	"peugeot", "polestar", "porsche", "renault", "sandbox", "seat", "skoda", "tesla",
	"toyota", "vauxhall", "volkswagen", "volvo-cars",
}

// Brands returns the documented brands, sorted (a new slice each call).
func Brands() []string { return slices.Clone(brands) }

// KnownBrand reports whether b is one of Brands. The API may accept brands
// added after this list was written, so callers warn rather than refuse.
func KnownBrand(b string) bool {
	_, ok := slices.BinarySearch(brands, b)
	return ok
}

// NormalizeBrand lower-cases and trims a brand as the API spells it.
func NormalizeBrand(b string) string { return strings.ToLower(strings.TrimSpace(b)) }

// Vehicle is one clearance as GET /fleets/vehicles returns it. Every string
// is sanitized for the terminal.
type Vehicle struct {
	VIN       string
	Brand     string
	Status    Status
	Changelog []Change
	Tags      map[string]string
}

// Change is one step of a vehicle's clearance history.
type Change struct {
	Timestamp time.Time // UTC; zero when the API sent one we could not read
	Status    Status
	Reason    string
}

// LastChange returns the latest changelog timestamp (zero without one).
func (v Vehicle) LastChange() time.Time {
	var last time.Time
	for _, c := range v.Changelog {
		if c.Timestamp.After(last) {
			last = c.Timestamp
		}
	}
	return last
}

type wireVehicle struct {
	VIN       string            `json:"vin"`
	Brand     string            `json:"brand"`
	Status    string            `json:"status"`
	Changelog []wireChange      `json:"changelog"`
	Tags      map[string]string `json:"tags"`
}

type wireChange struct {
	Timestamp string `json:"timestamp"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

func (w wireVehicle) vehicle() Vehicle {
	v := Vehicle{
		VIN:    termsafe.String(w.VIN),
		Brand:  termsafe.String(w.Brand),
		Status: Status(termsafe.String(w.Status)),
	}
	if len(w.Changelog) > 0 {
		v.Changelog = make([]Change, 0, len(w.Changelog))
		for _, c := range w.Changelog {
			ts, _ := parseTime(c.Timestamp)
			v.Changelog = append(v.Changelog, Change{
				Timestamp: ts,
				Status:    Status(termsafe.String(c.Status)),
				Reason:    termsafe.String(c.Reason),
			})
		}
		// Oldest first, whatever order the server used.
		sort.SliceStable(v.Changelog, func(i, j int) bool {
			return v.Changelog[i].Timestamp.Before(v.Changelog[j].Timestamp)
		})
	}
	if len(w.Tags) > 0 {
		v.Tags = make(map[string]string, len(w.Tags))
		for k, val := range w.Tags {
			v.Tags[termsafe.String(k)] = termsafe.String(val)
		}
	}
	return v
}

// NewVehicle is one vehicle to put up for clearance.
type NewVehicle struct {
	VIN      string
	Brand    string
	Odometer *Odometer // required for Mercedes-Benz
	Tags     map[string]string
}

// Odometer is the control measure Mercedes-Benz clearance checks.
type Odometer struct {
	Value int64
	Unit  string // UnitKilometers or UnitMiles
}

// Odometer units.
const (
	UnitKilometers = "kilometers"
	UnitMiles      = "miles"
)

// AddResult is the API's answer for one added vehicle. Status "error" comes
// with a Description saying why (an invalid brand, say): it belongs on that
// row, not to the whole request.
type AddResult struct {
	VIN         string
	Status      Status
	Description string
}

// Eligibility says whether a vehicle can deliver data.
type Eligibility struct {
	VIN                 string
	Eligible            bool
	DataDelivery        []string // "pull", "push"
	ConnectivityStatus  string   // "activated", "deactivated", "unknown"
	PrimaryUserAssigned *bool    // nil when the API did not say
}

// Filter narrows List. Zero fields are left out. The API takes it as
// URL-encoded JSON of {field: {operator, value}}; High Mobility documents
// the shape with the vin field and operator "eq".
type Filter struct {
	VIN    string
	Status Status
	Brand  string
}

type condition struct {
	Operator string `json:"operator"`
	Value    string `json:"value"`
}

// query returns the filter's JSON, or "" when it filters nothing.
func (f *Filter) query() (string, error) {
	if f == nil {
		return "", nil
	}
	m := map[string]condition{}
	if f.VIN != "" {
		m["vin"] = condition{"eq", strings.ToUpper(strings.TrimSpace(f.VIN))}
	}
	if f.Status != "" {
		m["status"] = condition{"eq", string(f.Status)}
	}
	if f.Brand != "" {
		m["brand"] = condition{"eq", NormalizeBrand(f.Brand)}
	}
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m) // map keys are written sorted: stable URLs
	return string(b), err
}

// parseTime reads the API's timestamps: RFC 3339, or ISO 8601 without a
// zone ("2022-12-01T09:08:14", optionally with a fraction), which is UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	if err != nil {
		return time.Time{}, errors.New("not an ISO 8601 time")
	}
	return t, nil
}

// TagText renders tags as "key=value" pairs sorted by key and joined by sep,
// each made safe for a terminal: tags come from the API.
func TagText(tags map[string]string, sep string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = termsafe.String(k) + "=" + termsafe.String(tags[k])
	}
	return strings.Join(parts, sep)
}
