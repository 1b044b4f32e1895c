package telemetrygen

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// The model is deliberately simple: believable to an operator watching a
// few vehicles (they drive, park, charge; numbers move continuously and in
// step with each other), cheap enough for tens of thousands of messages a
// second.

type phase uint8

const (
	parked phase = iota
	driving
	charging
)

const (
	tankLitres     = 55.0
	litresPerKm    = 0.07
	packKWh        = 75.0
	kWhPerKm       = 0.18
	ambientCelsius = 14.0
	roamKm         = 25.0 // vehicles turn back towards home beyond this
	maxSubstep     = 1.0  // seconds; larger gaps are simulated in steps
	maxCatchUp     = 600.0
)

type city struct {
	name     string
	lat, lon float64
}

// Start positions: a spread of European cities, so a map or a list of
// coordinates looks like a real fleet.
var cities = [...]city{
	{"Berlin", 52.5200, 13.4050},
	{"Munich", 48.1372, 11.5756},
	{"Hamburg", 53.5511, 9.9937},
	{"Paris", 48.8566, 2.3522},
	{"Amsterdam", 52.3676, 4.9041},
	{"Vienna", 48.2082, 16.3738},
	{"Zurich", 47.3769, 8.5417},
	{"Milan", 45.4642, 9.1900},
	{"Madrid", 40.4168, -3.7038},
	{"Lisbon", 38.7223, -9.1393},
	{"Prague", 50.0755, 14.4378},
	{"Copenhagen", 55.6761, 12.5683},
	{"Stockholm", 59.3293, 18.0686},
	{"Tallinn", 59.4370, 24.7536},
}

// vehicle is the simulated state of one VIN. It survives revocation and
// re-activation, so a vehicle's odometer never jumps back.
type vehicle struct {
	vin      string
	electric bool
	rng      *rand.Rand
	props    []propID
	next     int // round-robin position in props

	last time.Time // model time of the last advance

	phase     phase
	phaseLeft float64 // seconds until the next phase change is due
	held      bool    // disable_ignition: stays parked until enable_ignition
	parkedFor float64 // seconds since the ignition went off

	homeLat, homeLon float64
	lat, lon         float64
	heading          float64 // degrees, 0 = north
	speed, target    float64 // km/h

	odometer float64 // km
	fuel     float64 // 0..1 (combustion)
	battery  float64 // 0..1 (electric)
	chargeKW float64
	coolant  float64 // °C
	voltage  float64 // 12 V battery
	rpm      float64

	ignition string // lock, off, accessory, on
	locked   bool
}

// newVehicle derives a vehicle's starting state from the seed and its VIN
// alone, so the same VIN starts the same way whatever the fleet order.
func newVehicle(seed int64, vin, brand string, now time.Time) *vehicle {
	h := fnv.New64a()
	h.Write([]byte(vin))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))

	b := strings.ToLower(brand)
	electric := b == "tesla" || b == "polestar" || rng.Float64() < 0.3
	c := cities[rng.IntN(len(cities))]
	v := &vehicle{
		vin:      vin,
		electric: electric,
		rng:      rng,
		last:     now,
		homeLat:  c.lat + (rng.Float64()-0.5)*0.08,
		homeLon:  c.lon + (rng.Float64()-0.5)*0.12,
		heading:  rng.Float64() * 360,
		odometer: 5000 + rng.Float64()*115000,
		fuel:     0.3 + rng.Float64()*0.65,
		battery:  0.3 + rng.Float64()*0.65,
		coolant:  ambientCelsius,
		voltage:  12.5,
	}
	v.lat, v.lon = v.homeLat, v.homeLon
	if electric {
		v.props = electricProps
	} else {
		v.props = combustionProps
	}
	v.next = rng.IntN(len(v.props))
	if rng.Float64() < 0.5 {
		v.startDriving()
		v.speed = v.target * rng.Float64()
		v.coolant = 88
	} else {
		v.park()
		v.parkedFor = 300
		v.ignition = "lock"
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
	}
}

func (v *vehicle) drive(dt float64) {
	v.phaseLeft -= dt
	if v.phaseLeft <= 0 {
		v.target = 0 // pull over, then park once stopped
	} else if v.rng.Float64() < dt/20 {
		v.target = v.pickSpeed()
	}
	// Accelerate gently, brake harder.
	if v.speed < v.target {
		v.speed = math.Min(v.target, v.speed+2.5*dt)
	} else {
		v.speed = math.Max(v.target, v.speed-4*dt)
	}
	if v.phaseLeft <= 0 && v.speed == 0 {
		v.arrive()
		return
	}

	v.heading += v.rng.NormFloat64() * 3 * math.Sqrt(dt)
	if distKm(v.lat, v.lon, v.homeLat, v.homeLon) > roamKm {
		home := bearing(v.lat, v.lon, v.homeLat, v.homeLon)
		turn := math.Remainder(home-v.heading, 360)
		v.heading += math.Copysign(math.Min(math.Abs(turn), 10*dt), turn)
	}
	v.heading = math.Mod(v.heading+360, 360)

	km := v.speed * dt / 3600
	rad := v.heading * math.Pi / 180
	v.lat += km * math.Cos(rad) / 111.32
	v.lon += km * math.Sin(rad) / (111.32 * math.Cos(v.lat*math.Pi/180))
	v.odometer += km
	if v.electric {
		v.battery = math.Max(0.02, v.battery-km*kWhPerKm/packKWh)
		v.rpm = 0
	} else {
		v.fuel = math.Max(0.02, v.fuel-km*litresPerKm/tankLitres)
		v.rpm = math.Min(4500, 800+v.speed*28)
	}
	v.coolant += (90 - v.coolant) * math.Min(1, dt/90)
	v.voltage += (14.2 - v.voltage) * math.Min(1, dt/5)
}

func (v *vehicle) pickSpeed() float64 {
	switch r := v.rng.Float64(); {
	case r < 0.1:
		return 0 // traffic light
	case r < 0.7:
		return 30 + v.rng.Float64()*30
	default:
		return 90 + v.rng.Float64()*40
	}
}

func (v *vehicle) rest(dt float64) {
	v.speed, v.target, v.rpm = 0, 0, 0
	v.parkedFor += dt
	switch {
	case v.held:
		// disable_ignition keeps it as the command left it.
	case v.parkedFor > 120:
		v.ignition = "lock"
	case v.parkedFor > 15:
		v.ignition = "off"
	}
	v.coolant += (ambientCelsius - v.coolant) * math.Min(1, dt/600)
	v.voltage += (12.5 - v.voltage) * math.Min(1, dt/120)
	if v.held {
		return
	}
	v.phaseLeft -= dt
	if v.phaseLeft <= 0 {
		v.startDriving()
	}
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

func (v *vehicle) startDriving() {
	v.phase = driving
	v.phaseLeft = 120 + v.rng.Float64()*480
	v.target = v.pickSpeed()
	v.ignition = "on"
	v.locked = false
	v.chargeKW = 0
	v.parkedFor = 0
}

// arrive ends a trip: charge when an electric battery runs low, refuel a
// nearly empty tank, lock up.
func (v *vehicle) arrive() {
	v.park()
	if v.electric && v.battery < 0.6 {
		v.phase = charging
		v.phaseLeft = 300 + v.rng.Float64()*600
	}
	if !v.electric && v.fuel < 0.1 {
		v.fuel = 0.9 + v.rng.Float64()*0.1
	}
}

func (v *vehicle) park() {
	v.phase = parked
	v.phaseLeft = 60 + v.rng.Float64()*240
	v.speed, v.target, v.rpm, v.chargeKW = 0, 0, 0, 0
	v.ignition = "accessory"
	v.locked = true
	v.parkedFor = 0
}

// immobilise is disable_ignition: the ignition goes off at once and the
// vehicle stays put until enable_ignition. The locks are left as they are:
// they have commands of their own.
func (v *vehicle) immobilise() {
	locked := v.locked
	if v.phase == driving {
		v.park()
	}
	v.speed, v.target, v.rpm = 0, 0, 0
	v.ignition = "off"
	v.held = true
	v.locked = locked
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

// distKm is the equirectangular approximation, plenty for tens of km.
func distKm(lat1, lon1, lat2, lon2 float64) float64 {
	x := (lon2 - lon1) * math.Cos((lat1+lat2)/2*math.Pi/180)
	y := lat2 - lat1
	return math.Hypot(x, y) * 111.32
}

func bearing(lat1, lon1, lat2, lon2 float64) float64 {
	x := (lon2 - lon1) * math.Cos((lat1+lat2)/2*math.Pi/180)
	y := lat2 - lat1
	return math.Mod(math.Atan2(x, y)*180/math.Pi+360, 360)
}
