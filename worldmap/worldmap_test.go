package worldmap

import "testing"

func TestEmbeddedOutline(t *testing.T) {
	lines, err := Lines()
	if err != nil {
		t.Fatal(err)
	}
	points, borders := 0, 0
	for _, l := range lines {
		points += len(l.Points)
		if l.Border {
			borders++
		}
		for _, p := range l.Points {
			if p.Lon < -180.001 || p.Lon > 180.001 || p.Lat < -90.001 || p.Lat > 90.001 {
				t.Fatalf("point %+v is not on Earth", p)
			}
		}
	}
	if len(lines) != 595 || points != 8246 || borders == 0 || borders == len(lines) {
		t.Fatalf("%d lines, %d points, %d borders; want world-atlas's 595 arcs of 8246 points, coast and borders", len(lines), points, borders)
	}
	// Cabo da Roca (38.78 N, 9.50 W), Europe's westernmost point, is on a coast.
	near := false
	for _, l := range lines {
		for _, p := range l.Points {
			if !l.Border && abs(p.Lat-38.78) < 0.5 && abs(p.Lon+9.5) < 0.5 {
				near = true
			}
		}
	}
	if !near {
		t.Fatal("no coast near Lisbon: the transform is off")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := []QuantLine{{Points: [][2]int64{{0, 0}, {100, 50}, {90, 60}}}, {Border: true, Points: [][2]int64{{36000, 18000}}}}
	lines, err := Decode(Encode(0.01, 0.01, in))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || !lines[1].Border || lines[0].Border || len(lines[0].Points) != 3 {
		t.Fatalf("%+v", lines)
	}
	if p := lines[0].Points[1]; abs(p.Lon+179) > 1e-9 || abs(p.Lat+89.5) > 1e-9 {
		t.Fatalf("point %+v, want (-179, -89.5)", p)
	}
	if p := lines[1].Points[0]; abs(p.Lon-180) > 1e-9 || abs(p.Lat-90) > 1e-9 {
		t.Fatalf("point %+v, want (180, 90)", p)
	}
	for _, bad := range [][]byte{nil, []byte("FDWM1"), []byte("nope, not a map file at all")} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
	if _, err := Decode(Encode(0.01, 0.01, in)[:30]); err == nil {
		t.Error("a truncated file was accepted")
	}
	if _, err := Decode(Encode(0.01, 0.01, []QuantLine{{Points: nil}})); err == nil {
		t.Error("a line without points was accepted (the map draws every line from its first point)")
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
