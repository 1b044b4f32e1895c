// Package jsonreply writes the JSON answers of the command and platform
// simulators, whose APIs share the {"detail": "..."} error body.
package jsonreply

import (
	"encoding/json"
	"net/http"
)

// Write answers status with v encoded as JSON. A value that cannot be
// encoded becomes a 500 with a generic detail, never a half-written body.
func Write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"detail":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Detail answers status with {"detail": detail}.
func Detail(w http.ResponseWriter, status int, detail string) {
	Write(w, status, map[string]string{"detail": detail})
}
