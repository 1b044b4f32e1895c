package fleet

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

type eligibilityRequest struct {
	VIN   string `json:"vin"`
	Brand string `json:"brand"`
}

type eligibilityResponse struct {
	VIN                 string   `json:"vin"`
	Eligible            bool     `json:"eligible"`
	DataDelivery        []string `json:"data_delivery"`
	ConnectivityStatus  string   `json:"connectivity_status"`
	PrimaryUserAssigned *bool    `json:"primary_user_assigned"`
}

// Eligibility asks whether a vehicle can deliver data (POST /eligibility).
func (c *Client) Eligibility(ctx context.Context, v, brand string) (Eligibility, error) {
	brand = NormalizeBrand(brand)
	v, err := checkVIN(v, brand)
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility: %w", err)
	}
	if brand == "" {
		return Eligibility{}, fmt.Errorf("eligibility %s: brand is empty", v)
	}
	resp, bearer, err := c.call(ctx, http.MethodPost, "/eligibility", eligibilityRequest{VIN: v, Brand: brand})
	if err != nil {
		return Eligibility{}, fmt.Errorf("eligibility %s: %w", v, err)
	}
	var r eligibilityResponse
	if err := decode(resp, bearer, &r, http.StatusOK); err != nil {
		return Eligibility{}, fmt.Errorf("eligibility %s: %w", v, err)
	}
	e := Eligibility{
		VIN:                 termsafe.String(r.VIN),
		Eligible:            r.Eligible,
		ConnectivityStatus:  termsafe.String(r.ConnectivityStatus),
		PrimaryUserAssigned: r.PrimaryUserAssigned,
	}
	for _, d := range r.DataDelivery {
		e.DataDelivery = append(e.DataDelivery, termsafe.String(d))
	}
	return e, nil
}
