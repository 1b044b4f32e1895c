// Package e2e holds end-to-end tests: fleetdeck's own clients against the
// embedded sandbox, each written from the documents independently, so that
// each checks the other.
package e2e
