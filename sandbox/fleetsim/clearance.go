package fleetsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/fleetdeck/fleetdeck/vin"
)

const (
	maxAddBody    = 4 << 20
	maxAddRows    = 1000
	maxTags       = 32
	maxTagKeyLen  = 64
	maxTagValLen  = 256
	maxFilterText = 8 << 10
)

type changeJSON struct {
	Timestamp string `json:"timestamp"`
	Status    Status `json:"status"`
	Reason    string `json:"reason,omitempty"`
}

type vehicleJSON struct {
	VIN       string            `json:"vin"`
	Brand     string            `json:"brand"`
	Status    Status            `json:"status"`
	Changelog []changeJSON      `json:"changelog"`
	Tags      map[string]string `json:"tags,omitempty"`
}

func (r *record) view() vehicleJSON {
	v := vehicleJSON{VIN: r.vin, Brand: r.brand, Status: r.status, Tags: r.tags, Changelog: make([]changeJSON, len(r.changelog))}
	for i, c := range r.changelog {
		v.Changelog[i] = changeJSON{Timestamp: c.Timestamp.UTC().Format(TimeFormat), Status: c.Status, Reason: c.Reason}
	}
	return v
}

// list serves GET /fleets/vehicles[?filter=JSON].
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad request", Source: "filter", Detail: err.Error()})
		return
	}
	s.mu.Lock()
	s.advance(s.opts.Now())
	out := make([]vehicleJSON, 0, len(s.order))
	for _, rec := range s.order {
		if f.match(rec) {
			out = append(out, rec.view())
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// get serves GET /fleets/vehicles/{vin}.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("vin")
	s.mu.Lock()
	s.advance(s.opts.Now())
	rec, ok := s.byVIN[id]
	var v vehicleJSON
	if ok {
		v = rec.view()
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, notInFleet(id))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func notInFleet(id string) apiError {
	return apiError{Title: "Not found", Source: "vin", Detail: fmt.Sprintf("VIN %s is not in the fleet", clip(id))}
}

// remove serves DELETE /fleets/vehicles/{vin}: approved → revoking → revoked,
// pending → canceling → canceled.
func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("vin")
	now := s.opts.Now()
	s.mu.Lock()
	s.advance(now)
	rec, ok := s.byVIN[id]
	if !ok {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, notInFleet(id))
		return
	}
	var (
		status int
		fail   apiError
	)
	switch rec.status {
	case StatusApproved:
		s.setStatus(rec, now, StatusRevoking, "")
		s.scheduleAfterDelay(rec, now)
	case StatusPending:
		if !CanCancel(rec.brand) {
			status, fail = http.StatusUnprocessableEntity, apiError{Title: "not supported", Source: "vin",
				Detail: "cancellation is not supported for this vin"}
			break
		}
		delete(s.inflight, rec.vin) // the activation verdict will not come now
		rec.next = nil
		s.setStatus(rec, now, StatusCanceling, "")
		s.scheduleAfterDelay(rec, now)
	case StatusRevoked, StatusCanceled:
		status, fail = http.StatusConflict, apiError{Title: "Conflict", Source: "vin", Detail: "Clearance is already removed"}
	case StatusRevoking, StatusCanceling:
		status, fail = http.StatusConflict, apiError{Title: "Conflict", Source: "vin", Detail: "Clearance is in transition mode"}
	default: // rejected, or anything else that has no activation to undo
		status, fail = http.StatusUnprocessableEntity, apiError{Title: "not supported", Source: "vin",
			Detail: fmt.Sprintf("cancellation is not supported for this vin (status %s)", rec.status)}
	}
	result := map[string]any{"vin": rec.vin, "status": rec.status}
	s.mu.Unlock()
	if status != 0 {
		writeErrors(w, status, fail)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

type odometer struct {
	Value int64
	Unit  string
}

type addRowJSON struct {
	VIN             string `json:"vin"`
	Brand           string `json:"brand"`
	ControlMeasures *struct {
		Odometer *struct {
			Value json.RawMessage `json:"value"`
			Unit  string          `json:"unit"`
		} `json:"odometer"`
	} `json:"control_measures"`
	Tags map[string]string `json:"tags"`
}

type addResultJSON struct {
	VIN         string `json:"vin"`
	Status      Status `json:"status"`
	Description string `json:"description,omitempty"`
}

// add serves POST /fleets/vehicles. Each row succeeds or fails on its own;
// only a body that is not the documented shape fails as a whole.
func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAddBody)
	var body struct {
		Vehicles []json.RawMessage `json:"vehicles"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad request", Source: "body", Detail: "the body must be a JSON object {\"vehicles\": [...]}"})
		return
	}
	if len(body.Vehicles) == 0 {
		writeErrors(w, http.StatusUnprocessableEntity, apiError{Title: "Invalid input", Source: "vehicles", Detail: "vehicles is required and must not be empty"})
		return
	}
	if len(body.Vehicles) > maxAddRows {
		writeErrors(w, http.StatusUnprocessableEntity, apiError{Title: "Invalid input", Source: "vehicles",
			Detail: fmt.Sprintf("at most %d vehicles per request", maxAddRows)})
		return
	}
	type row struct {
		vin, brand string
		odo        *odometer
		tags       map[string]string
	}
	rows := make([]row, len(body.Vehicles))
	results := make([]addResultJSON, len(body.Vehicles))
	seen := make(map[string]bool, len(body.Vehicles))
	for i, raw := range body.Vehicles {
		var in addRowJSON
		err := json.Unmarshal(raw, &in)
		if err == nil {
			rows[i] = row{vin: in.VIN, brand: in.Brand, tags: in.Tags}
			rows[i].odo, err = validateRow(in)
		} else {
			err = errors.New("each vehicle must be an object {\"vin\", \"brand\", \"control_measures\"?, \"tags\"?}")
		}
		if err == nil && seen[in.VIN] {
			err = errors.New("vin appears more than once in this request")
		}
		seen[in.VIN] = true
		results[i] = addResultJSON{VIN: clip(in.VIN), Status: StatusError}
		if err != nil {
			results[i].Description = err.Error()
		}
	}

	now := s.opts.Now()
	s.mu.Lock()
	s.advance(now)
	for i, rw := range rows {
		if results[i].Description != "" {
			continue
		}
		rec, exists := s.byVIN[rw.vin]
		if exists {
			switch rec.status {
			case StatusApproved, StatusPending, StatusRevoking, StatusCanceling:
				results[i].Description = fmt.Sprintf("vehicle is already in the fleet (status %s)", rec.status)
				continue
			}
			// Revoked, canceled or rejected: a new activation (and, once
			// approved, a new pseudonym).
			rec.brand = rw.brand
		} else {
			rec = &record{vin: rw.vin, brand: rw.brand}
			s.order = append(s.order, rec)
			s.byVIN[rw.vin] = rec
		}
		rec.odometer = rw.odo
		if rw.tags != nil {
			rec.tags = cloneTags(rw.tags)
		}
		s.setStatus(rec, now, StatusPending, "")
		s.scheduleAfterDelay(rec, now)
		results[i].Status = StatusPending
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string][]addResultJSON{"vehicles": results})
}

// validateRow checks one POST row and returns its odometer.
func validateRow(in addRowJSON) (*odometer, error) {
	switch {
	case in.VIN == "":
		return nil, errors.New("vin is required")
	case len(in.VIN) != vin.Length:
		return nil, errors.New("vin should be 17 character(s)")
	case in.Brand == "sandbox" && vin.Plausible(in.VIN):
		// High Mobility's emulators hand out VINs with I, O or Q.
	case !vin.Valid(in.VIN):
		return nil, errors.New("vin may only contain A-H, J-N, P, R-Z and 0-9 (never I, O or Q)")
	}
	if !knownBrand(in.Brand) {
		return nil, errors.New("The brand is invalid")
	}
	var odo *odometer
	if in.ControlMeasures != nil && in.ControlMeasures.Odometer != nil {
		o := in.ControlMeasures.Odometer
		v, err := strconv.ParseInt(string(o.Value), 10, 64)
		if err != nil || v < 0 {
			return nil, errors.New("control_measures.odometer.value must be a non-negative integer")
		}
		if o.Unit != "kilometers" && o.Unit != "miles" {
			return nil, errors.New("control_measures.odometer.unit must be kilometers or miles")
		}
		odo = &odometer{Value: v, Unit: o.Unit}
	}
	if in.Brand == BrandMercedesBenz && odo == nil {
		return nil, errors.New("control_measures.odometer is required for mercedes-benz")
	}
	if len(in.Tags) > maxTags {
		return nil, fmt.Errorf("at most %d tags", maxTags)
	}
	for k, v := range in.Tags {
		if k == "" || len(k) > maxTagKeyLen || len(v) > maxTagValLen {
			return nil, fmt.Errorf("tag keys must be 1-%d bytes and values at most %d", maxTagKeyLen, maxTagValLen)
		}
	}
	return odo, nil
}

// filter is the parsed ?filter= query: one condition per field, e.g.
// {"vin":{"operator":"eq","value":"..."}}. A plain string value means eq, an
// array means in. Operators: eq, neq, in.
type filter map[string]condition

type condition struct {
	op     string
	values []string
}

var filterFields = []string{"vin", "status", "brand"}

func parseFilter(text string) (filter, error) {
	if text == "" {
		return nil, nil
	}
	if len(text) > maxFilterText {
		return nil, errors.New("filter is too long")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, errors.New(`filter must be a JSON object such as {"status":{"operator":"eq","value":"approved"}}`)
	}
	f := make(filter, len(raw))
	for field, v := range raw {
		if !slices.Contains(filterFields, field) {
			return nil, fmt.Errorf("filter field %q is not supported (use vin, status or brand)", clip(field))
		}
		c, err := parseCondition(v)
		if err != nil {
			return nil, fmt.Errorf("filter %s: %w", field, err)
		}
		f[field] = c
	}
	return f, nil
}

func parseCondition(raw json.RawMessage) (condition, error) {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return condition{op: "eq", values: []string{str}}, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return condition{op: "in", values: list}, nil
	}
	var obj struct {
		Operator string          `json:"operator"`
		Value    json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Value == nil {
		return condition{}, errors.New(`must be {"operator": "eq"|"neq"|"in", "value": ...}`)
	}
	switch obj.Operator {
	case "eq", "neq":
		if json.Unmarshal(obj.Value, &str) != nil {
			return condition{}, fmt.Errorf("operator %s needs a string value", obj.Operator)
		}
		return condition{op: obj.Operator, values: []string{str}}, nil
	case "in":
		if json.Unmarshal(obj.Value, &list) != nil {
			return condition{}, errors.New("operator in needs an array of strings")
		}
		return condition{op: "in", values: list}, nil
	}
	return condition{}, fmt.Errorf("operator %q is not supported (use eq, neq or in)", clip(obj.Operator))
}

func (f filter) match(r *record) bool {
	for field, c := range f {
		var v string
		switch field {
		case "vin":
			v = r.vin
		case "status":
			v = string(r.status)
		case "brand":
			v = r.brand
		}
		in := slices.Contains(c.values, v)
		if (c.op == "neq") == in {
			return false
		}
	}
	return true
}
