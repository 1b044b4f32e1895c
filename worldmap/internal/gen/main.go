// Command gen writes worldmap/world.bin from world-atlas's
// countries-110m.json (Natural Earth 1:110m Admin 0, TopoJSON):
//
//	npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
//	go run ./worldmap/internal/gen package/countries-110m.json > worldmap/world.bin
//
// Every arc of the topology is drawn once: an arc that two countries share
// is a border, one that only one country uses is coast.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/fleetdeck/fleetdeck/worldmap"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen countries-110m.json > world.bin")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	b, err := convert(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	os.Stdout.Write(b)
}

type topology struct {
	Type      string `json:"type"`
	Transform struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]int64 `json:"arcs"`
	Objects map[string]struct {
		Geometries []struct {
			Type string          `json:"type"`
			Arcs json.RawMessage `json:"arcs"`
		} `json:"geometries"`
	} `json:"objects"`
}

// convert reads a quantized TopoJSON topology and encodes its arcs in
// units of its scale, moved so that (0, 0) is (−180°, −90°).
func convert(r io.Reader) ([]byte, error) {
	var t topology
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	if t.Type != "Topology" || t.Transform.Scale[0] <= 0 || t.Transform.Scale[1] <= 0 {
		return nil, fmt.Errorf("not a quantized TopoJSON topology")
	}
	countries, ok := t.Objects["countries"]
	if !ok {
		return nil, fmt.Errorf("no countries object")
	}
	uses := make([]int, len(t.Arcs))
	for _, g := range countries.Geometries {
		var ids []int
		collectArcs(g.Arcs, &ids)
		for _, id := range ids {
			if id < 0 {
				id = ^id
			}
			if id < len(uses) {
				uses[id]++
			}
		}
	}
	sx, sy := t.Transform.Scale[0], t.Transform.Scale[1]
	ox := int64(math.Round((t.Transform.Translate[0] + 180) / sx))
	oy := int64(math.Round((t.Transform.Translate[1] + 90) / sy))
	lines := make([]worldmap.QuantLine, 0, len(t.Arcs))
	for i, arc := range t.Arcs {
		if uses[i] == 0 {
			continue
		}
		l := worldmap.QuantLine{Border: uses[i] > 1}
		var x, y int64
		for _, d := range arc { // TopoJSON arcs are delta-encoded
			x, y = x+d[0], y+d[1]
			l.Points = append(l.Points, [2]int64{x + ox, y + oy})
		}
		lines = append(lines, l)
	}
	return worldmap.Encode(sx, sy, lines), nil
}

// collectArcs gathers the arc indexes of a (multi)polygon's nested arrays.
func collectArcs(raw json.RawMessage, out *[]int) {
	var id int
	if json.Unmarshal(raw, &id) == nil {
		*out = append(*out, id)
		return
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, r := range list {
			collectArcs(r, out)
		}
	}
}
