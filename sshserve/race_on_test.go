//go:build race

package sshserve

const raceEnabled = true
