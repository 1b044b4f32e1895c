package fleetsim

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/fleetdeck/fleetdeck/vin"
)

type eligibilityJSON struct {
	VIN                string   `json:"vin"`
	Eligible           bool     `json:"eligible"`
	DataDelivery       []string `json:"data_delivery"`
	ConnectivityStatus string   `json:"connectivity_status"`
}

// Eligibility decides a lookup deterministically from the VIN and brand:
//
//   - VINs ending in "000" are not eligible (data_delivery [], connectivity
//     "unknown"), matching the clearance rule that rejects them;
//   - otherwise eligible; connectivity "deactivated" when the VIN ends in an
//     odd digit (the owner must switch the car's connectivity on), else
//     "activated";
//   - data_delivery ["pull","push"] for bmw, mini and sandbox, ["push"] for
//     every other brand.
func Eligibility(v, brand string) (eligible bool, delivery []string, connectivity string) {
	if strings.HasSuffix(v, "000") {
		return false, []string{}, "unknown"
	}
	connectivity = "activated"
	if last := v[len(v)-1]; strings.IndexByte("13579", last) >= 0 {
		connectivity = "deactivated"
	}
	switch brand {
	case "bmw", "mini", "sandbox":
		delivery = []string{"pull", "push"}
	default:
		delivery = []string{"push"}
	}
	return true, delivery, connectivity
}

// eligibility serves POST /eligibility {vin, brand}.
func (s *Server) eligibility(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	var in struct {
		VIN   string `json:"vin"`
		Brand string `json:"brand"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad request", Source: "body", Detail: "the body must be a JSON object {\"vin\", \"brand\"}"})
		return
	}
	validVIN := vin.Valid(in.VIN) || in.Brand == "sandbox" && vin.Plausible(in.VIN)
	if !validVIN {
		writeErrors(w, http.StatusUnprocessableEntity, apiError{Title: "Invalid input", Source: "vin", Detail: "vin should be 17 characters of A-H, J-N, P, R-Z and 0-9"})
		return
	}
	if !knownBrand(in.Brand) {
		writeErrors(w, http.StatusUnprocessableEntity, apiError{Title: "Invalid input", Source: "brand", Detail: "The brand is invalid"})
		return
	}
	ok, delivery, conn := Eligibility(in.VIN, in.Brand)
	writeJSON(w, http.StatusOK, eligibilityJSON{VIN: in.VIN, Eligible: ok, DataDelivery: delivery, ConnectivityStatus: conn})
}
