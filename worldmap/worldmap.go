// Package worldmap is a small outline of the world to draw under the
// fleet: the coastlines and country borders of Natural Earth's (v4.1.0) 1:110m Admin
// 0 countries (public domain), as redistributed in TopoJSON by the npm
// package world-atlas 2.0.2 (ISC, © Michael Bostock), embedded as 595 lines
// of 8,246 points in 32 KB (world.bin; internal/gen writes it and
// says how).
package worldmap

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

//go:embed world.bin
var worldBin []byte

// Point is a position in degrees.
type Point struct{ Lon, Lat float64 }

// Line is one arc of the outline: a stretch of coast, or a border two
// countries share.
type Line struct {
	Border bool
	Points []Point
	// Min and Max bound the points, so a map can skip lines out of view.
	Min, Max Point
}

// Magic starts world.bin; the version is its last byte.
const Magic = "FDWM1"

// Lines decodes the embedded outline. It is called once per map (about a
// tenth of a millisecond), not kept in a global.
func Lines() ([]Line, error) { return Decode(worldBin) }

// Decode reads the format Encode writes.
func Decode(b []byte) ([]Line, error) {
	if len(b) < len(Magic)+16 || string(b[:len(Magic)]) != Magic {
		return nil, errors.New("world outline: not a " + Magic + " file")
	}
	b = b[len(Magic):]
	sx := math.Float64frombits(binary.LittleEndian.Uint64(b))
	sy := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	b = b[16:]
	tx, ty := -180.0, -90.0
	count, n := binary.Uvarint(b)
	if n <= 0 || count > 1<<20 {
		return nil, errors.New("world outline: bad line count")
	}
	b = b[n:]
	lines := make([]Line, 0, count)
	for i := uint64(0); i < count; i++ {
		if len(b) < 1 {
			return nil, fmt.Errorf("world outline: line %d: truncated", i)
		}
		border := b[0] == 1
		b = b[1:]
		np, n := binary.Uvarint(b)
		// A line has a point at least: a map draws it from its first.
		if n <= 0 || np == 0 || np > 1<<20 {
			return nil, fmt.Errorf("world outline: line %d: bad point count", i)
		}
		b = b[n:]
		l := Line{Border: border, Points: make([]Point, 0, np), Min: Point{180, 90}, Max: Point{-180, -90}}
		var x, y int64
		for j := uint64(0); j < np; j++ {
			dx, n1 := binary.Varint(b)
			if n1 <= 0 {
				return nil, fmt.Errorf("world outline: line %d: truncated", i)
			}
			dy, n2 := binary.Varint(b[n1:])
			if n2 <= 0 {
				return nil, fmt.Errorf("world outline: line %d: truncated", i)
			}
			b = b[n1+n2:]
			x, y = x+dx, y+dy
			p := Point{Lon: tx + float64(x)*sx, Lat: ty + float64(y)*sy}
			l.Points = append(l.Points, p)
			l.Min.Lon, l.Min.Lat = min(l.Min.Lon, p.Lon), min(l.Min.Lat, p.Lat)
			l.Max.Lon, l.Max.Lat = max(l.Max.Lon, p.Lon), max(l.Max.Lat, p.Lat)
		}
		lines = append(lines, l)
	}
	return lines, nil
}

// Encode writes lines of quantized points (x·sx − 180, y·sy − 90 degrees)
// compactly: each point as the zigzag-varint difference from the one
// before.
func Encode(sx, sy float64, lines []QuantLine) []byte {
	b := []byte(Magic)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(sx))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(sy))
	b = binary.AppendUvarint(b, uint64(len(lines)))
	for _, l := range lines {
		kind := byte(0)
		if l.Border {
			kind = 1
		}
		b = append(b, kind)
		b = binary.AppendUvarint(b, uint64(len(l.Points)))
		var x, y int64
		for _, p := range l.Points {
			b = binary.AppendVarint(b, p[0]-x)
			b = binary.AppendVarint(b, p[1]-y)
			x, y = p[0], p[1]
		}
	}
	return b
}

// QuantLine is a line of quantized points, for Encode.
type QuantLine struct {
	Border bool
	Points [][2]int64
}
