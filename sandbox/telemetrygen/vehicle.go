package telemetrygen

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// The driving model. Each vehicle lives in one city and drives along its
// street grid from destination to destination: it accelerates to the leg's
// speed, slows for corners, now and then waits at a red light, and stops at
// the destination. There it either makes a short stop with the engine
// running, or parks (the ignition goes off, then to lock), charges (an
// electric vehicle running low) or refuels (a tank below 6%). Speed, heading
// (the leg's bearing), position, odometer, fuel and ignition all come from
// the same motion, so they agree with each other at every message. The
// generator keeps at least one vehicle moving and one stopped while two or
// more are approved (see census).
//
// Cheap enough for tens of thousands of messages a second: a step is a few
// multiplications, routes are a handful of waypoints.

type phase uint8

const (
	parked   phase = iota // ignition off (then lock); doors locked
	stopped               // at a destination with the engine running (a delivery, a pick-up)
	driving               // on a route; speed 0 only at a red light
	charging              // parked at a charger
)

const (
	tankLitres     = 55.0
	litresPerKm    = 0.075
	packKWh        = 75.0
	kWhPerKm       = 0.18
	ambientCelsius = 14.0
	blockKm        = 0.2 // street grid spacing
	accel          = 1.5 // m/s²
	brake          = 2.5 // m/s²
	cornerKmh      = 15.0
	lowFuel        = 0.06 // a tank below this is refueled at the next destination
	lowBattery     = 0.5  // a battery below this is charged at the next destination
	maxSubstep     = 1.0  // seconds; larger gaps are simulated in steps
	maxCatchUp     = 600.0
)

// city is where a vehicle drives: a centre, the radius its destinations
// stay in, and the bearing of its street grid.
type city struct {
	name     string
	lat, lon float64
	radiusKm float64
	gridDeg  float64
}

// cities the generator uses: the default fleet's depots (Lisbon, Porto,
// Braga) and a few more on two continents.
var cities = [...]city{
	{"Tallinn", 59.4370, 24.7536, 5, 12},
	{"Berlin", 52.5200, 13.4050, 9, 0},
	{"Lisbon", 38.7223, -9.1393, 5, 20},
	{"Munich", 48.1372, 11.5756, 7, 0},
	{"Detroit", 42.3314, -83.0458, 9, 28},
	{"Porto", 41.1579, -8.6291, 4, 15},
	{"Braga", 41.5454, -8.4265, 3, 0},
	{"Paris", 48.8566, 2.3522, 7, 30},
	{"Amsterdam", 52.3676, 4.9041, 5, 45},
}

// Cities names the cities vehicles drive in, for a Vehicle's City.
func Cities() []string {
	out := make([]string, len(cities))
	for i, c := range cities {
		out[i] = c.name
	}
	return out
}

func cityNamed(name string) (city, bool) {
	for _, c := range cities {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	return city{}, false
}

// point is a position in km east and north of the city centre.
type point struct{ x, y float64 }

// vehicle is the simulated state of one VIN. It survives revocation and
// re-activation, so a vehicle's odometer never jumps back.
type vehicle struct {
	vin      string
	electric bool
	rng      *rand.Rand
	props    []propID
	next     int // round-robin position in props

	last time.Time // model time of the last advance

	city      city
	phase     phase
	phaseLeft float64 // seconds until a stop, a park or a charge ends
	held      bool    // disable_ignition: stays parked until enable_ignition
	parkedFor float64 // seconds since the vehicle parked
	census    *census // the generator's count of moving and stopped vehicles; nil while not approved
	pulling   bool    // pulling over because nobody in the fleet stood still
	counted   int8    // which of census's counts holds this vehicle: 0 none, countDriving, countStopped

	pos     point
	route   []point // waypoints still ahead; route[0] is the current leg's end
	cruise  float64 // km/h on the current leg
	redLeft float64 // seconds still waiting at a red light
	heading float64 // degrees, 0 = north: the current leg's bearing
	speed   float64 // km/h

	odometer float64 // km
	fuel     float64 // 0..1 (combustion)
	battery  float64 // 0..1 (electric)
	chargeKW float64
	coolant  float64 // °C
	voltage  float64 // 12 V battery
	rpm      float64

	ignition string // lock, off, accessory, on
	locked   bool

	tires  [4]float64 // bar when cold: front left, front right, rear left, rear right
	heat   float64    // bar the tyres gain warm (up to 0.15 on the road)
	codes  []troubleCode
	bulbs  []string
	faults float64 // seconds until the next fault event (a code or a bulb)
}

// newVehicle derives a vehicle's starting state from the seed and its VIN
// alone, so the same VIN starts the same way whatever the fleet order.
// home names its city ("" or unknown: one picked from the VIN).
func newVehicle(seed int64, vin, brand, home string, now time.Time) *vehicle {
	h := fnv.New64a()
	h.Write([]byte(vin))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))

	b := strings.ToLower(brand)
	electric := b == "tesla" || b == "polestar" || rng.Float64() < 0.25
	c, ok := cityNamed(home)
	if !ok {
		c = cities[rng.IntN(len(cities))]
	}
	v := &vehicle{
		vin:      vin,
		electric: electric,
		rng:      rng,
		last:     now,
		city:     c,
		odometer: 5000 + rng.Float64()*115000,
		fuel:     0.25 + rng.Float64()*0.7,
		battery:  0.35 + rng.Float64()*0.6,
		coolant:  ambientCelsius,
		voltage:  12.5,
		faults:   60 + rng.Float64()*600,
	}
	// Now and then a tank is nearly empty: the low-fuel threshold is
	// crossed while the console watches.
	if !electric && rng.Float64() < 0.25 {
		v.fuel = 0.07 + rng.Float64()*0.06
	}
	for i := range v.tires {
		v.tires[i] = 2.3 + rng.Float64()*0.3
	}
	if rng.Float64() < 0.1 {
		v.tires[rng.IntN(4)] = 1.7 + rng.Float64()*0.2 // a slow puncture
	}
	if rng.Float64() < 0.3 {
		v.addCode()
	}
	if rng.Float64() < 0.15 {
		v.bulbs = append(v.bulbs, bulbNames[rng.IntN(len(bulbNames))])
	}
	v.pos = v.snap(v.randomPoint())
	if electric {
		v.props = electricProps
	} else {
		v.props = combustionProps
	}
	v.next = rng.IntN(len(v.props))
	if rng.Float64() < 0.55 {
		v.startDriving()
		v.speed = v.cruise * rng.Float64()
		v.coolant = 88
	} else {
		v.park()
		v.phaseLeft = rng.Float64() * 600
		v.parkedFor = 300
		v.ignition = "lock"
		v.heading = math.Mod(c.gridDeg+90*float64(rng.IntN(4)), 360) // parked along a street
	}
	return v
}

func (v *vehicle) nextProp() propID {
	p := v.props[v.next%len(v.props)]
	v.next++
	return p
}

// advance runs the model up to now.
func (v *vehicle) advance(now time.Time) {
	dt := now.Sub(v.last).Seconds()
	if dt <= 0 {
		return
	}
	v.last = now
	dt = math.Min(dt, maxCatchUp)
	for dt > 0 {
		step := math.Min(dt, maxSubstep)
		v.step(step)
		dt -= step
	}
}

func (v *vehicle) step(dt float64) {
	switch v.phase {
	case driving:
		v.drive(dt)
	case charging:
		v.charge(dt)
		v.rest(dt)
	default:
		v.rest(dt)
		if v.phase == driving {
			v.drive(dt) // it left during this step: it moves in it too
		}
	}
	v.wear(dt)
}

// drive moves the vehicle along its route for dt seconds.
func (v *vehicle) drive(dt float64) {
	v.ignition, v.locked = "on", false
	if v.redLeft > 0 {
		v.speed = math.Max(0, v.speed-brake*3.6*dt)
		v.setRed(v.redLeft - dt)
		v.idle(dt)
		return
	}
	// Nobody in the fleet stands still: one vehicle ends its trip here.
	if c := v.census; c != nil && c.stopped == 0 && c.pulling == 0 && c.members >= 2 {
		v.pullOver()
	}
	if len(v.route) == 0 {
		v.arrive()
		return
	}
	target := v.route[0]
	dist := math.Hypot(target.x-v.pos.x, target.y-v.pos.y) // km
	// The speed from which the vehicle can still slow to what the end of
	// the leg allows (a corner, or a stop at the destination).
	end := 0.0
	if len(v.route) > 1 {
		end = cornerKmh
	}
	endMS := end / 3.6
	allow := math.Sqrt(endMS*endMS+2*brake*dist*1000) * 3.6
	want := math.Min(v.cruise, allow)
	if dist > 0.005 {
		want = math.Max(want, 3) // creep the last metres rather than stall
	}
	before := v.speed
	if v.speed < want {
		v.speed = math.Min(want, v.speed+accel*3.6*dt)
	} else {
		v.speed = math.Max(want, v.speed-brake*3.6*dt)
	}
	km := (before + v.speed) / 2 * dt / 3600
	if km >= dist || dist < 0.005 {
		km = dist
		v.pos = target
		v.route = v.route[1:]
		if len(v.route) == 0 {
			v.arrive()
		} else {
			v.turn()
		}
	} else {
		v.pos.x += (target.x - v.pos.x) / dist * km
		v.pos.y += (target.y - v.pos.y) / dist * km
	}
	v.consume(km)
	v.idle(dt)
}

// turn starts the next leg at a corner: its bearing and speed, and maybe a
// red light first.
func (v *vehicle) turn() {
	leg := v.route[0]
	v.heading = bearingOf(v.pos, leg)
	v.cruise = legSpeed(v.rng, math.Hypot(leg.x-v.pos.x, leg.y-v.pos.y))
	// A red light, unless every other vehicle on the road waits at one
	// already (the fleet keeps one in motion) — then it is green.
	if v.rng.Float64() < 0.3 && (v.census == nil || v.census.driving-v.census.red > 1) {
		v.setRed(10 + v.rng.Float64()*35)
	}
}

// consume burns fuel (or charge) for km driven and updates the odometer.
func (v *vehicle) consume(km float64) {
	v.odometer += km
	if v.electric {
		v.battery = math.Max(0.02, v.battery-km*kWhPerKm/packKWh)
	} else {
		v.fuel = math.Max(0.01, v.fuel-km*litresPerKm/tankLitres)
	}
}

// idle updates what runs with the engine: rpm, coolant, the 12 V battery.
func (v *vehicle) idle(dt float64) {
	if v.electric {
		v.rpm = 0
	} else {
		v.rpm = math.Min(4500, 800+v.speed*28)
	}
	v.coolant += (90 - v.coolant) * math.Min(1, dt/90)
	v.voltage += (14.2 - v.voltage) * math.Min(1, dt/5)
}

// arrive ends a trip at its destination: a short stop with the engine
// running, or parking (to charge or refuel when low). The last moving
// vehicle of the fleet does not stop: it goes on to another destination.
func (v *vehicle) arrive() {
	if v.pulling {
		v.pulling = false
		v.census.pulling--
	}
	// The last vehicle rolling (others may wait at red lights) does not
	// stop: it rolls on as if the destination were a corner.
	if c := v.census; c != nil && c.driving-c.red <= 1 && c.members >= 3 {
		v.plan()
		v.speed = max(v.speed, 3)
		return
	}
	v.speed = 0
	switch {
	case v.electric && v.battery < lowBattery:
		v.park()
		v.setPhase(charging)
		v.phaseLeft = 300 + v.rng.Float64()*600
	case !v.electric && v.fuel < lowFuel:
		v.park()
		v.phaseLeft = 180 + v.rng.Float64()*120
		v.fuel = 0.85 + v.rng.Float64()*0.15
	case v.rng.Float64() < 0.55:
		v.setPhase(stopped)
		v.phaseLeft = 30 + v.rng.Float64()*90
		v.rpm = 800
	default:
		v.park()
	}
}

// rest is a stop, a park or a charge: the vehicle stands still.
func (v *vehicle) rest(dt float64) {
	v.speed = 0
	v.setRed(0)
	switch {
	case v.phase == stopped:
		v.ignition = "on"
		v.idle(dt)
	case v.held:
		// disable_ignition keeps it as the command left it.
		v.parkedFor += dt
	default:
		v.parkedFor += dt
		v.rpm = 0
		switch {
		case v.parkedFor > 120:
			v.ignition = "lock"
		case v.parkedFor > 10:
			v.ignition = "off"
		}
	}
	if v.phase != stopped {
		v.coolant += (ambientCelsius - v.coolant) * math.Min(1, dt/600)
		v.voltage += (12.5 - v.voltage) * math.Min(1, dt/120)
	}
	if v.held {
		return
	}
	v.phaseLeft -= dt
	if v.phaseLeft > 0 {
		// Someone leaves when nobody in the fleet is rolling.
		if c := v.census; c == nil || c.driving-c.red > 0 || c.members < 2 {
			return
		}
	}
	// The last vehicle standing still waits for another one to stop (with
	// three or more: two would wait for each other for ever).
	if v.census != nil && v.census.stopped <= 1 && v.census.members >= 3 {
		v.phaseLeft = 20 + v.rng.Float64()*40
		return
	}
	v.startDriving()
}

func (v *vehicle) charge(dt float64) {
	switch {
	case v.battery >= 0.95:
		v.chargeKW = 0
	case v.battery >= 0.8:
		v.chargeKW = 11
	default:
		v.chargeKW = 50
	}
	v.battery = math.Min(1, v.battery+v.chargeKW*dt/3600/packKWh)
}

// wear makes the slow changes: tyre pressure, trouble codes that come and
// go, a bulb that fails or is replaced.
func (v *vehicle) wear(dt float64) {
	warm := 0.0
	if v.phase == driving {
		warm = 0.15 // tyres warm up on the road, and their pressure with them
	}
	v.heat = warm + (v.heat-warm)*math.Exp(-dt/600)
	for i := 0; i < len(v.codes); i++ {
		c := &v.codes[i]
		c.left -= dt
		if c.left <= 0 {
			v.codes = append(v.codes[:i], v.codes[i+1:]...)
			i--
			continue
		}
		if c.status == "PENDING" && c.age > 300 {
			c.status = "CONFIRMED"
		}
		c.age += dt
	}
	v.faults -= dt
	if v.faults > 0 {
		return
	}
	v.faults = 300 + v.rng.Float64()*900
	switch r := v.rng.Float64(); {
	case r < 0.5 && len(v.codes) < 4:
		v.addCode()
	case r < 0.6 && len(v.bulbs) == 0:
		v.bulbs = append(v.bulbs, bulbNames[v.rng.IntN(len(bulbNames))])
	case r < 0.7 && len(v.bulbs) > 0:
		v.bulbs = v.bulbs[:0] // replaced at a garage
	case len(v.codes) > 0:
		v.codes[0].occurrences++
	}
}

// tirePressure is tyre i's pressure now, in bar.
func (v *vehicle) tirePressure(i int) float64 { return v.tires[i] + v.heat }

func (v *vehicle) addCode() {
	d := troubleCatalog[v.rng.IntN(len(troubleCatalog))]
	for _, c := range v.codes {
		if c.id == d.id {
			return
		}
	}
	v.codes = append(v.codes, troubleCode{troubleDef: d, occurrences: 1, status: "PENDING", left: 600 + v.rng.Float64()*2400})
}

// startDriving leaves for a new destination.
func (v *vehicle) startDriving() {
	v.setPhase(driving)
	v.ignition = "on"
	v.locked = false
	v.chargeKW = 0
	v.parkedFor = 0
	v.plan()
}

// plan routes the vehicle to a new destination along the street grid: a
// staircase of legs, each a whole number of blocks.
func (v *vehicle) plan() {
	dest := v.snap(v.randomPoint())
	for tries := 0; tries < 4 && math.Hypot(dest.x-v.pos.x, dest.y-v.pos.y) < 0.6; tries++ {
		dest = v.snap(v.randomPoint())
	}
	e1, e2 := v.axes()
	du := dot(sub(dest, v.pos), e1)
	dv := dot(sub(dest, v.pos), e2)
	// Two to four legs, alternating between the two street directions.
	splits := 1 + v.rng.IntN(2)
	uFirst := v.rng.IntN(2) == 0
	v.route = v.route[:0]
	at := v.pos
	for i := 0; i < splits; i++ {
		last := i == splits-1
		part := func(d float64) float64 {
			if last {
				return d
			}
			return math.Round(d*(0.3+0.4*v.rng.Float64())/blockKm) * blockKm
		}
		pu, pv := part(du), part(dv)
		du, dv = du-pu, dv-pv
		legs := [2]point{add(at, scale(e1, pu)), {}}
		if !uFirst {
			legs[0] = add(at, scale(e2, pv))
		}
		if uFirst {
			legs[1] = add(legs[0], scale(e2, pv))
		} else {
			legs[1] = add(legs[0], scale(e1, pu))
		}
		for _, p := range legs {
			if math.Hypot(p.x-at.x, p.y-at.y) > 0.01 {
				v.route = append(v.route, p)
				at = p
			}
		}
	}
	if len(v.route) == 0 {
		v.route = append(v.route, add(v.pos, scale(e1, blockKm*4)))
	}
	v.heading = bearingOf(v.pos, v.route[0])
	v.cruise = legSpeed(v.rng, math.Hypot(v.route[0].x-v.pos.x, v.route[0].y-v.pos.y))
	v.setRed(0)
}

// pullOver ends the trip at the next few metres: the vehicle brakes and
// stops there (the generator asks one to when none of the fleet is
// stopped).
func (v *vehicle) pullOver() {
	if v.phase != driving || v.redLeft > 0 {
		return
	}
	ms := v.speed / 3.6
	km := ms*ms/(2*brake)/1000 + 0.01
	dir := point{math.Sin(v.heading * math.Pi / 180), math.Cos(v.heading * math.Pi / 180)}
	v.route = append(v.route[:0], add(v.pos, scale(dir, km)))
	if v.census != nil && !v.pulling {
		v.pulling = true
		v.census.pulling++
	}
}

func (v *vehicle) park() {
	v.setPhase(parked)
	v.phaseLeft = 240 + v.rng.Float64()*660
	v.speed, v.rpm, v.chargeKW = 0, 0, 0
	v.setRed(0)
	v.ignition = "accessory"
	v.locked = true
	v.parkedFor = 0
	v.route = v.route[:0]
}

// setRed sets the seconds left at a red light, keeping the census's count
// of vehicles waiting at one.
func (v *vehicle) setRed(left float64) {
	left = max(left, 0)
	if c := v.census; c != nil && (v.redLeft > 0) != (left > 0) {
		if left > 0 {
			c.red++
		} else {
			c.red--
		}
	}
	v.redLeft = left
}

// setPhase changes the phase and keeps the fleet's census in step.
func (v *vehicle) setPhase(p phase) {
	v.phase = p
	v.recount()
}

// immobilise is disable_ignition: the ignition goes off at once and the
// vehicle stays put until enable_ignition. The locks are left as they are:
// they have commands of their own.
func (v *vehicle) immobilise() {
	locked := v.locked
	if v.phase != parked && v.phase != charging {
		v.park()
	}
	v.speed, v.rpm = 0, 0
	v.ignition = "off"
	v.held = true
	v.locked = locked
	v.recount()
}

// release is enable_ignition: the ignition comes on and the trip the
// operator allowed begins.
func (v *vehicle) release() {
	locked := v.locked
	v.held = false
	v.startDriving()
	v.locked = locked
}

func (v *vehicle) chargingStatus() string {
	switch {
	case v.phase != charging:
		return "not_charging"
	case v.chargeKW == 0:
		return "charging_complete"
	default:
		return "charging"
	}
}

func (v *vehicle) rangeKm() float64 {
	if v.electric {
		return v.battery * packKWh / kWhPerKm
	}
	return v.fuel * tankLitres / litresPerKm
}

func (v *vehicle) locksState() string {
	if v.locked {
		return "locked"
	}
	return "unlocked"
}

// moving reports whether the vehicle counts as moving for the census: on a
// route (a red light included).
func (v *vehicle) moving() bool { return v.phase == driving && !v.held }

// lat and lon are the position in degrees.
func (v *vehicle) lat() float64 { return v.city.lat + v.pos.y/111.32 }
func (v *vehicle) lon() float64 {
	return v.city.lon + v.pos.x/(111.32*math.Cos(v.city.lat*math.Pi/180))
}

// randomPoint is a destination within the city's radius (denser towards
// the centre, as destinations are).
func (v *vehicle) randomPoint() point {
	r := v.city.radiusKm * math.Sqrt(v.rng.Float64()) * 0.95
	a := v.rng.Float64() * 2 * math.Pi
	return point{r * math.Cos(a), r * math.Sin(a)}
}

// snap moves p onto the nearest street crossing.
func (v *vehicle) snap(p point) point {
	e1, e2 := v.axes()
	u := math.Round(dot(p, e1)/blockKm) * blockKm
	w := math.Round(dot(p, e2)/blockKm) * blockKm
	return add(scale(e1, u), scale(e2, w))
}

// axes are the unit vectors of the street grid (east, north components).
func (v *vehicle) axes() (point, point) {
	g := v.city.gridDeg * math.Pi / 180
	return point{math.Sin(g), math.Cos(g)}, point{math.Cos(g), -math.Sin(g)}
}

// legSpeed picks the speed of a leg: arterial roads for long legs.
func legSpeed(rng *rand.Rand, km float64) float64 {
	if km >= 1.5 {
		return 50 + rng.Float64()*20
	}
	return 30 + rng.Float64()*20
}

func bearingOf(from, to point) float64 {
	return math.Mod(math.Atan2(to.x-from.x, to.y-from.y)*180/math.Pi+360, 360)
}

func add(a, b point) point           { return point{a.x + b.x, a.y + b.y} }
func sub(a, b point) point           { return point{a.x - b.x, a.y - b.y} }
func scale(a point, k float64) point { return point{a.x * k, a.y * k} }
func dot(a, b point) float64         { return a.x*b.x + a.y*b.y }

// distKm is the equirectangular approximation, plenty for tens of km.
func distKm(lat1, lon1, lat2, lon2 float64) float64 {
	x := (lon2 - lon1) * math.Cos((lat1+lat2)/2*math.Pi/180)
	y := lat2 - lat1
	return math.Hypot(x, y) * 111.32
}

// census counts the approved vehicles that move and those that stand
// still, so that the fleet always shows both: the last moving one does not
// stop, the last one standing does not leave, and when nobody moves
// someone does (see also Generator.balance).
type census struct {
	members, driving, stopped int
	red                       int // driving, but waiting at a red light
	pulling                   int // vehicles pulling over to end a moment with nobody stopped
}

const (
	countDriving int8 = 1 + iota
	countStopped
)

// join counts v in c (nil: v leaves the census it was in).
func (v *vehicle) join(c *census) {
	if old := v.census; old != nil {
		v.uncount()
		old.members--
		if v.pulling {
			old.pulling--
		}
		if v.redLeft > 0 {
			old.red--
		}
	}
	v.census = c
	if c == nil {
		v.pulling = false // nobody waits for it any more
		return
	}
	c.members++
	if v.pulling {
		c.pulling++
	}
	if v.redLeft > 0 {
		c.red++
	}
	v.recount()
}

// recount moves v to the count that matches its state now.
func (v *vehicle) recount() {
	if v.census == nil {
		return
	}
	want := countStopped
	if v.moving() {
		want = countDriving
	}
	if want == v.counted {
		return
	}
	v.uncount()
	if want == countDriving {
		v.census.driving++
	} else {
		v.census.stopped++
	}
	v.counted = want
}

func (v *vehicle) uncount() {
	switch v.counted {
	case countDriving:
		v.census.driving--
	case countStopped:
		v.census.stopped--
	}
	v.counted = 0
}
