package commandsim

import (
	"net/http"
	"testing"
	"time"
)

// Every way a code fails is answered with one of the two details document
// 002 names, as the platform would: the console, not the sandbox, tells
// them apart.
func TestRefusedCodesAnswerAsDocumented(t *testing.T) {
	const other = "WBA5R1C50KAK12345"
	e := newEnv(t, Options{CodeTTL: 10 * time.Second})
	_, mine := e.send(testVIN, "disable_ignition", "")
	_, theirs := e.send(other, "disable_ignition", "")
	code, theirCode := mine["code"].(string), theirs["code"].(string)

	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	status, resp := e.send(testVIN, "disable_ignition", wrong)
	wantDetail(t, status, resp, http.StatusBadRequest, "Confirmation invalid")

	if theirCode != code {
		status, resp = e.send(testVIN, "disable_ignition", theirCode) // another vehicle's
		wantDetail(t, status, resp, http.StatusBadRequest, "Confirmation invalid")
	}
	status, resp = e.send(testVIN, "enable_ignition", code) // the other command's
	wantDetail(t, status, resp, http.StatusBadRequest, "Confirmation invalid")

	if status, resp = e.send(testVIN, "disable_ignition", code); status != http.StatusOK || resp["status"] != "Pending" {
		t.Fatalf("the right code: HTTP %d %v", status, resp)
	}
	status, resp = e.send(testVIN, "disable_ignition", code) // again
	wantDetail(t, status, resp, http.StatusConflict, "Confirmation already used")

	// CodeTTL shortens the two minutes.
	e.clock.Add(11 * time.Second)
	status, resp = e.send(other, "disable_ignition", theirCode)
	wantDetail(t, status, resp, http.StatusBadRequest, "Confirmation invalid")
}
