package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// List returns the fleet's clearances (GET /fleets/vehicles), narrowed by f
// when it is not nil.
func (c *Client) List(ctx context.Context, f *Filter) ([]Vehicle, error) {
	path := "/fleets/vehicles"
	q, err := f.query()
	if err != nil {
		return nil, fmt.Errorf("list vehicles: filter: %w", err)
	}
	if q != "" {
		path += "?filter=" + url.QueryEscape(q)
	}
	resp, bearer, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	var rows []wireVehicle
	if err := decode(resp, bearer, &rows, http.StatusOK); err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	out := make([]Vehicle, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.vehicle())
	}
	return out, nil
}

// Get returns one vehicle's clearance (GET /fleets/vehicles/{vin}).
func (c *Client) Get(ctx context.Context, v string) (Vehicle, error) {
	v = vin.Normalize(v)
	if v == "" {
		return Vehicle{}, fmt.Errorf("get vehicle: %w: empty", vin.ErrInvalid)
	}
	resp, bearer, err := c.call(ctx, http.MethodGet, "/fleets/vehicles/"+url.PathEscape(v), nil)
	if err != nil {
		return Vehicle{}, fmt.Errorf("get %s: %w", safe(v), err)
	}
	var row wireVehicle
	if err := decode(resp, bearer, &row, http.StatusOK); err != nil {
		return Vehicle{}, fmt.Errorf("get %s: %w", safe(v), err)
	}
	return row.vehicle(), nil
}

// Delete removes a clearance (DELETE /fleets/vehicles/{vin}): a pending one
// is canceled, an approved one revoked, both asynchronously. A 409 (already
// removed, or in transition) satisfies IsConflict, a 422 (not supported)
// IsUnsupported.
func (c *Client) Delete(ctx context.Context, v string) error {
	v = vin.Normalize(v)
	if v == "" {
		return fmt.Errorf("revoke: %w: empty", vin.ErrInvalid)
	}
	resp, bearer, err := c.call(ctx, http.MethodDelete, "/fleets/vehicles/"+url.PathEscape(v), nil)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", safe(v), err)
	}
	if err := decode(resp, bearer, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent); err != nil {
		return fmt.Errorf("revoke %s: %w", safe(v), err)
	}
	return nil
}

type wireNewVehicle struct {
	VIN             string            `json:"vin"`
	Brand           string            `json:"brand"`
	ControlMeasures *controlMeasures  `json:"control_measures,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

type controlMeasures struct {
	Odometer wireOdometer `json:"odometer"`
}

type wireOdometer struct {
	Value int64  `json:"value"`
	Unit  string `json:"unit"`
}

type addRequest struct {
	Vehicles []wireNewVehicle `json:"vehicles"`
}

type addResponse struct {
	Vehicles []struct {
		VIN         string `json:"vin"`
		Status      string `json:"status"`
		Description string `json:"description"`
	} `json:"vehicles"`
}

// checkVIN normalizes v and checks it for a vehicle of brand (already
// normalized). A check-digit mismatch is not an error: only North American
// VINs must match. Sandbox VINs only need the shape of a VIN (High
// Mobility's emulator hands out VINs with letters real ones never use).
func checkVIN(v, brand string) (string, error) {
	v = vin.Normalize(v)
	if brand == BrandSandbox && vin.Plausible(v) {
		return v, nil
	}
	r, err := vin.Check(v)
	if err != nil {
		return "", err
	}
	return r.VIN, nil
}

// CheckVIN is the check the client makes before it sends a VIN for brand:
// a valid VIN, or for the sandbox brand one with the shape of a VIN. It
// returns the VIN normalized.
func CheckVIN(v, brand string) (string, error) {
	return checkVIN(v, NormalizeBrand(brand))
}

// prepare checks one vehicle locally and returns it as the API wants it.
func prepare(nv NewVehicle) (wireNewVehicle, error) {
	brand := NormalizeBrand(nv.Brand)
	v, err := checkVIN(nv.VIN, brand)
	if err != nil {
		return wireNewVehicle{}, err
	}
	if brand == "" {
		return wireNewVehicle{}, fmt.Errorf("%s: brand is empty", v)
	}
	w := wireNewVehicle{VIN: v, Brand: brand}
	if nv.Odometer == nil {
		if brand == BrandMercedesBenz {
			return wireNewVehicle{}, fmt.Errorf("%s: %w", v, ErrNeedsOdometer)
		}
	} else {
		if nv.Odometer.Unit != UnitKilometers && nv.Odometer.Unit != UnitMiles {
			return wireNewVehicle{}, fmt.Errorf("%s: odometer unit %q: want %q or %q", v, termsafe.String(nv.Odometer.Unit), UnitKilometers, UnitMiles)
		}
		if nv.Odometer.Value < 0 {
			return wireNewVehicle{}, fmt.Errorf("%s: odometer value %d is negative", v, nv.Odometer.Value)
		}
		w.ControlMeasures = &controlMeasures{Odometer: wireOdometer{Value: nv.Odometer.Value, Unit: nv.Odometer.Unit}}
	}
	if len(nv.Tags) > 0 {
		w.Tags = nv.Tags
	}
	return w, nil
}

// Add puts vehicles up for clearance (POST /fleets/vehicles). Every vehicle
// is checked first and nothing is sent if one fails (an invalid VIN wraps
// vin.ErrInvalid; a Mercedes-Benz without odometer wraps ErrNeedsOdometer).
// Rows the API refuses come back with StatusError and a Description, not as
// an error. Results follow the input order.
func (c *Client) Add(ctx context.Context, vs []NewVehicle) ([]AddResult, error) {
	if len(vs) == 0 {
		return nil, errors.New("add vehicles: none given")
	}
	rows := make([]wireNewVehicle, len(vs))
	for i, nv := range vs {
		w, err := prepare(nv)
		if err != nil {
			return nil, fmt.Errorf("add vehicles: %w", err)
		}
		rows[i] = w
	}
	return c.add(ctx, rows)
}

func (c *Client) add(ctx context.Context, rows []wireNewVehicle) ([]AddResult, error) {
	what := "add vehicles"
	if len(rows) == 1 {
		what = "add " + rows[0].VIN
	}
	resp, bearer, err := c.call(ctx, http.MethodPost, "/fleets/vehicles", addRequest{Vehicles: rows})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var r addResponse
	if err := decode(resp, bearer, &r, http.StatusOK, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	got := make(map[string]AddResult, len(r.Vehicles))
	for _, row := range r.Vehicles {
		v := vin.Normalize(row.VIN)
		got[v] = AddResult{
			VIN:         termsafe.String(v),
			Status:      Status(termsafe.String(row.Status)),
			Description: safe(row.Description),
		}
	}
	out := make([]AddResult, len(rows))
	for i, w := range rows {
		if res, ok := got[w.VIN]; ok {
			out[i] = res
			continue
		}
		out[i] = AddResult{VIN: w.VIN, Status: StatusError, Description: "no result for this VIN in the response"}
	}
	return out, nil
}

// DefaultChunk is AddBatched's chunk size when none is given.
const DefaultChunk = 50

// AddBatched adds many vehicles in chunks (for onboarding a fleet from a
// file). Unlike Add, a vehicle that fails the local checks does not stop the
// others: its row gets StatusError and the reason. A chunk the API refuses
// as a whole marks its rows with that error and the next chunk goes on.
// progress, if not nil, is called after each chunk with rows done so far.
// Results follow the input order; the error is only ever the context's, in
// which case the rows not sent say so.
func (c *Client) AddBatched(ctx context.Context, vs []NewVehicle, chunk int, progress func(done, total int)) ([]AddResult, error) {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	out := make([]AddResult, len(vs))
	var idx []int // positions of rows that passed the local checks
	var rows []wireNewVehicle
	for i, nv := range vs {
		w, err := prepare(nv)
		if err != nil {
			out[i] = AddResult{VIN: termsafe.String(vin.Normalize(nv.VIN)), Status: StatusError, Description: termsafe.Clip(err.Error(), maxText)}
			continue
		}
		idx = append(idx, i)
		rows = append(rows, w)
	}
	done := len(vs) - len(rows)
	report := func() {
		if progress != nil {
			progress(done, len(vs))
		}
	}
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		if err := ctx.Err(); err != nil {
			for j := start; j < len(rows); j++ {
				out[idx[j]] = AddResult{VIN: rows[j].VIN, Status: StatusError, Description: "not sent: " + err.Error()}
			}
			return out, err
		}
		res, err := c.add(ctx, rows[start:end])
		for j := start; j < end; j++ {
			if err != nil {
				out[idx[j]] = AddResult{VIN: rows[j].VIN, Status: StatusError, Description: termsafe.Clip(err.Error(), maxText)}
			} else {
				out[idx[j]] = res[j-start]
			}
		}
		done += end - start
		report()
	}
	if len(rows) == 0 {
		report()
	}
	return out, ctx.Err()
}
