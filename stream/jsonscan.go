package stream

// A small validating JSON scanner over a byte slice. The decoder needs a few
// fields out of a ~300 byte payload; encoding/json would build a tree (or a
// struct) and copy every string, which costs more than the MQTT client itself
// at broker speed. The scanner only finds spans: nothing is copied or
// allocated, and every value it steps over is still checked for grammar.

const maxDepth = 64

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString expects b[i] == '"' and returns the index just past the closing
// quote, whether the string holds escapes, and false when it is malformed.
func scanString(b []byte, i int) (end int, escaped bool, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false, false
	}
	i++
	for i < len(b) {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, escaped, false
				}
				i += 6
			default:
				return i, escaped, false
			}
		case c < 0x20:
			return i, escaped, false
		default:
			i++
		}
	}
	return i, escaped, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber checks the JSON number grammar starting at b[i].
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// scanValue returns the index just past the value starting at b[i] (no
// leading white space).
func scanValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case c == '{':
		return scanObject(b, i, depth+1)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || isDigit(c):
		return scanNumber(b, i)
	}
	return i, false
}

func scanObject(b []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	it := objectIter{b: b, i: i + 1, depth: depth}
	for {
		_, _, _, more := it.next()
		if !more {
			return it.i, !it.bad
		}
	}
}

func scanArray(b []byte, i, depth int) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = scanValue(b, i, depth); !ok {
			return i, false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ']':
			return i + 1, true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return i, false
		}
	}
}

// nextMember steps over white space and, after the first member (n > 0),
// the comma, to the next member of an object or array that closes with
// closing. It returns where the member starts, or end with the index past
// the closing bracket; ok is false at a grammar error (i then says where).
func nextMember(b []byte, i, n int, closing byte) (at int, end, ok bool) {
	i = skipSpace(b, i)
	if i < len(b) && b[i] == closing {
		return i + 1, true, true
	}
	if n > 0 {
		if i >= len(b) || b[i] != ',' {
			return i, false, false
		}
		i = skipSpace(b, i+1)
	}
	return i, false, i < len(b)
}

// objectIter walks the members of one object. Keys come back without their
// quotes and still escaped (keyEscaped says so); values as raw spans.
type objectIter struct {
	b     []byte
	i     int // just past '{', or past the previous member
	depth int
	n     int
	bad   bool
	done  bool
}

// iterObject starts an iterator over the object that is exactly b (after
// white space is trimmed). ok is false when b does not start with '{'.
func iterObject(b []byte) (objectIter, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return objectIter{}, false
	}
	return objectIter{b: b, i: i + 1, depth: 1}, true
}

// next returns the next member; more is false at the end of the object or
// at the first grammar error (then it.bad is set).
func (it *objectIter) next() (key []byte, keyEscaped bool, val []byte, more bool) {
	key, keyEscaped, more = it.nextKey()
	if !more {
		return nil, false, nil, false
	}
	val, more = it.value()
	return key, keyEscaped, val, more
}

// nextKey reads the next member's key and leaves the iterator at the start
// of its value, which the caller must consume with value, or by scanning it
// itself (descending into it) and calling resume.
func (it *objectIter) nextKey() (key []byte, keyEscaped bool, more bool) {
	if it.done || it.bad {
		return nil, false, false
	}
	b := it.b
	i, end, ok := nextMember(b, it.i, it.n, '}')
	switch {
	case !ok:
		it.fail(i)
		return nil, false, false
	case end:
		it.i, it.done = i, true
		return nil, false, false
	}
	kend, kesc, ok := scanString(b, i)
	if !ok {
		it.fail(i)
		return nil, false, false
	}
	key = b[i+1 : kend-1]
	i = skipSpace(b, kend)
	if i >= len(b) || b[i] != ':' {
		it.fail(i)
		return nil, false, false
	}
	it.i = skipSpace(b, i+1)
	it.n++
	return key, kesc, true
}

// value scans the value nextKey stopped at.
func (it *objectIter) value() ([]byte, bool) {
	start := it.i
	end, ok := scanValue(it.b, start, it.depth)
	if !ok {
		it.fail(start)
		return nil, false
	}
	it.i = end
	return it.b[start:end], true
}

// peek returns the first byte of the value nextKey stopped at.
func (it *objectIter) peek() byte {
	if it.i < len(it.b) {
		return it.b[it.i]
	}
	return 0
}

// child starts an iterator over the object value nextKey stopped at; when
// it is done, resume(child) continues after it.
func (it *objectIter) child() objectIter {
	if it.depth+1 > maxDepth {
		return objectIter{b: it.b, i: it.i, bad: true}
	}
	return objectIter{b: it.b, i: it.i + 1, depth: it.depth + 1}
}

// resume continues after a child object; ok is false if the child was
// malformed.
func (it *objectIter) resume(c *objectIter) bool {
	for !c.done && !c.bad {
		c.next()
	}
	if c.bad {
		it.fail(c.i)
		return false
	}
	it.i = c.i
	return true
}

func (it *objectIter) fail(i int) {
	it.i, it.bad = i, true
}

// finish reports whether the object closed properly with nothing but white
// space after it (only meaningful for a whole document).
func (it *objectIter) finish() bool {
	for !it.done && !it.bad {
		it.next()
	}
	return it.done && skipSpace(it.b, it.i) == len(it.b)
}

// field returns the raw value of the member named key (unescaped names
// only), scanning and validating the whole object.
func field(obj []byte, key string) ([]byte, bool) {
	it, ok := iterObject(obj)
	if !ok {
		return nil, false
	}
	var found []byte
	for {
		k, esc, v, more := it.next()
		if !more {
			break
		}
		if !esc && found == nil && string(k) == key {
			found = v
		}
	}
	if it.bad || found == nil {
		return nil, false
	}
	return found, true
}

// arrayIter walks the elements of one array. nextElem stops at an element;
// the caller consumes it with elemValue, or descends into an object element
// with elemChild and continues with resumeElem.
type arrayIter struct {
	b       []byte
	i       int // at the next element (after nextElem), else past the previous one
	depth   int
	n       int
	pending bool // nextElem stopped at an element not consumed yet
	bad     bool
	done    bool
}

// iterArray starts an iterator over the array that is exactly b (after
// white space is trimmed). ok is false when b does not start with '['.
func iterArray(b []byte) (arrayIter, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return arrayIter{}, false
	}
	return arrayIter{b: b, i: i + 1, depth: 1}, true
}

// childArray starts an iterator over the array value nextKey stopped at;
// when it is done, resumeArray continues after it.
func (it *objectIter) childArray() arrayIter {
	if it.depth+1 > maxDepth {
		return arrayIter{b: it.b, i: it.i, bad: true}
	}
	return arrayIter{b: it.b, i: it.i + 1, depth: it.depth + 1}
}

// resumeArray continues after a child array; ok is false if it was
// malformed.
func (it *objectIter) resumeArray(a *arrayIter) bool {
	for !a.done && !a.bad {
		if _, more := a.nextElem(); more {
			a.elemValue()
		}
	}
	if a.bad {
		it.fail(a.i)
		return false
	}
	it.i = a.i
	return true
}

// nextElem moves to the next element and returns its first byte; more is
// false at the end of the array or at the first grammar error (then a.bad
// is set).
func (a *arrayIter) nextElem() (first byte, more bool) {
	if a.pending {
		a.elemValue()
	}
	if a.done || a.bad {
		return 0, false
	}
	b := a.b
	i, end, ok := nextMember(b, a.i, a.n, ']')
	switch {
	case !ok:
		a.bad = true
		return 0, false
	case end:
		a.i, a.done = i, true
		return 0, false
	}
	a.i, a.pending = i, true
	a.n++
	return b[i], true
}

// elemValue scans the element nextElem stopped at.
func (a *arrayIter) elemValue() ([]byte, bool) {
	a.pending = false
	start := a.i
	end, ok := scanValue(a.b, start, a.depth)
	if !ok {
		a.bad = true
		return nil, false
	}
	a.i = end
	return a.b[start:end], true
}

// elemChild starts an iterator over the object element nextElem stopped
// at; resumeElem continues after it.
func (a *arrayIter) elemChild() objectIter {
	a.pending = false
	if a.depth+1 > maxDepth {
		return objectIter{b: a.b, i: a.i, bad: true}
	}
	return objectIter{b: a.b, i: a.i + 1, depth: a.depth + 1}
}

// resumeElem continues after an object element.
func (a *arrayIter) resumeElem(c *objectIter) bool {
	for !c.done && !c.bad {
		c.next()
	}
	if c.bad {
		a.bad = true
		return false
	}
	a.i = c.i
	return true
}
