package schemas

import (
	"sync"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Fixed-base tables for Verifier: [k](-A) + [S]B with both points known in
// advance (B always, -A for as long as the keyring holds the key), computed
// as two sums of precomputed multiples and no doublings.
//
// A scalar s below 2^253 is written in signed digits of w bits,
// s = sum d_i 2^(w i) with |d_i| <= 2^(w-1), and [s]P = sum [d_i](2^(w i) P)
// is a sum of table entries: (253+w)/w mixed additions at most (51 for a
// key's table, w = 5; 32 for B's, w = 8), where the variable-base double
// scalar multiplication (filippo.io/edwards25519
// VarTimeDoubleScalarBaseMult) does ~253 doublings and ~80 additions.
// Entries are affine Niels points (y+x, y-x, 2dxy), 120 bytes each.
// Variable time: the scalars and points of a verification are public.
//
// The addition is the complete extended-coordinates formula for a = -1
// (Hisil-Wong-Carter-Dawson 2008, "add-2008-hwcd-3" with an affine
// operand), the one filippo.io/edwards25519 uses (projP1xP1.AddAffine), so
// the sum is the same group element for every point of the curve,
// small-order components included; TestFixedBaseAgrees compares it with
// VarTimeDoubleScalarBaseMult.

// niels is an affine point (x, y) as y+x, y-x, 2dxy.
type niels struct{ ypx, ymx, t2d field.Element }

// A fixedTable holds P's multiples for digits of w bits: rows[i][j] is
// (j+1) 2^(w i) P, for the (253+w)/w signed digits d_i in
// [-2^(w-1), 2^(w-1)] that cover a canonical scalar (below 2^253) and its
// final carry, j < 2^(w-1).
type fixedTable struct {
	w    uint
	rows [][]niels
}

const (
	// keyWindow is the digit width of a key's table: 51 rows of 16, 96 KiB,
	// ~1 ms to build, one per keyring key.
	keyWindow = 5
	// baseWindow is the digit width of B's table: 32 rows of 128, 480 KiB,
	// built once per process; wider digits, fewer additions.
	baseWindow = 8
)

// extended is a point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
// xy = T/Z.
type extended struct{ x, y, z, t field.Element }

var (
	curveD2 = func() *field.Element {
		// d = -121665/121666, the curve constant.
		d, err := new(field.Element).SetBytes([]byte{
			0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75,
			0xab, 0xd8, 0x41, 0x41, 0x4d, 0x0a, 0x70, 0x00,
			0x98, 0xe8, 0x79, 0x77, 0x79, 0x40, 0xc7, 0x8c,
			0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52})
		if err != nil {
			panic(err)
		}
		return new(field.Element).Add(d, d)
	}()
	baseTable = sync.OnceValue(func() *fixedTable { return newFixedTable(edwards25519.NewGeneratorPoint(), baseWindow) })
)

// newFixedTable computes p's (253+w)/w * 2^(w-1) multiples (816 for w = 5,
// 4,096 for w = 8) with the library's additions and turns them affine
// with one inversion (Montgomery's trick).
func newFixedTable(p *edwards25519.Point, w uint) *fixedTable {
	tableDigits, tableHalf := int(253+w)/int(w), 1<<(w-1)
	pts := make([]edwards25519.Point, tableDigits*tableHalf)
	base := new(edwards25519.Point).Set(p)
	for i := range tableDigits {
		row := pts[i*tableHalf : (i+1)*tableHalf]
		row[0].Set(base)
		for j := 1; j < tableHalf; j++ {
			row[j].Add(&row[j-1], base)
		}
		base.Add(&row[tableHalf-1], &row[tableHalf-1]) // 2^w base = 2 (2^(w-1) base)
	}
	X := make([]field.Element, len(pts))
	Y := make([]field.Element, len(pts))
	Z := make([]field.Element, len(pts))
	prefix := make([]field.Element, len(pts)) // prefix[i] = Z_0 ... Z_i
	for i := range pts {
		x, y, z, _ := pts[i].ExtendedCoordinates()
		X[i], Y[i], Z[i] = *x, *y, *z
		if i == 0 {
			prefix[i] = Z[i]
		} else {
			prefix[i].Multiply(&prefix[i-1], &Z[i])
		}
	}
	var inv field.Element
	inv.Invert(&prefix[len(pts)-1]) // 1 / (Z_0 ... Z_n); no Z is zero on the curve
	t := &fixedTable{w: w, rows: make([][]niels, tableDigits)}
	for i := range t.rows {
		t.rows[i] = make([]niels, tableHalf)
	}
	for i := len(pts) - 1; i >= 0; i-- {
		var invZ field.Element
		if i == 0 {
			invZ = inv
		} else {
			invZ.Multiply(&inv, &prefix[i-1])
			inv.Multiply(&inv, &Z[i])
		}
		var x, y field.Element
		x.Multiply(&X[i], &invZ)
		y.Multiply(&Y[i], &invZ)
		n := &t.rows[i/tableHalf][i%tableHalf]
		n.ypx.Add(&y, &x)
		n.ymx.Subtract(&y, &x)
		n.t2d.Multiply(&x, &y)
		n.t2d.Multiply(&n.t2d, curveD2)
	}
	return t
}

// signedDigits writes s (below 2^253, little-endian) as (253+w)/w digits
// d_i in [-2^(w-1), 2^(w-1)], s = sum d_i 2^(w i), into digits (for w = 4,
// filippo.io/edwards25519's Scalar.signedRadix16), and returns them.
func signedDigits(b *[32]byte, w uint, digits *[64]int16) []int16 {
	n := int(253+w) / int(w)
	d := digits[:n]
	mask := uint32(1)<<w - 1
	for i := range d {
		bit := uint(i) * w
		var v uint32
		for k := uint(0); k < 3 && bit/8+k < 32; k++ { // w <= 16: three bytes hold any w-bit chunk
			v |= uint32(b[bit/8+k]) << (8 * k)
		}
		d[i] = int16((v >> (bit % 8)) & mask)
	}
	half := int16(1) << (w - 1)
	for i := range n - 1 {
		carry := (d[i] + half) >> w
		d[i] -= carry << w
		d[i+1] += carry
	}
	return d
}

// addMultiple sets v += [s]P where t is P's table.
func (v *extended) addMultiple(t *fixedTable, s *[32]byte) {
	var buf [64]int16
	for i, d := range signedDigits(s, t.w, &buf) {
		switch {
		case d > 0:
			v.addNiels(&t.rows[i][d-1], false)
		case d < 0:
			v.addNiels(&t.rows[i][-d-1], true)
		}
	}
}

// addNiels sets v += q, or v -= q if neg (-(x, y) = (-x, y): y+x and y-x
// swap and 2dxy changes sign).
func (v *extended) addNiels(q *niels, neg bool) {
	var ypx, ymx, pp, mm, tt2d, z2 field.Element
	ypx.Add(&v.y, &v.x)
	ymx.Subtract(&v.y, &v.x)
	z2.Add(&v.z, &v.z)
	tt2d.Multiply(&v.t, &q.t2d)
	var X, Y, Z, T field.Element
	if neg {
		pp.Multiply(&ypx, &q.ymx)
		mm.Multiply(&ymx, &q.ypx)
		Z.Subtract(&z2, &tt2d)
		T.Add(&z2, &tt2d)
	} else {
		pp.Multiply(&ypx, &q.ypx)
		mm.Multiply(&ymx, &q.ymx)
		Z.Add(&z2, &tt2d)
		T.Subtract(&z2, &tt2d)
	}
	X.Subtract(&pp, &mm)
	Y.Add(&pp, &mm)
	// (X:Y:Z:T) completed -> extended.
	v.x.Multiply(&X, &T)
	v.y.Multiply(&Y, &Z)
	v.z.Multiply(&Z, &T)
	v.t.Multiply(&X, &Y)
}

// fixedDoubleBaseEncoding returns the encoding of [k]P + [s]B, P given by
// its table, k and s canonical scalars.
func fixedDoubleBaseEncoding(pt *fixedTable, k, s *edwards25519.Scalar) ([]byte, bool) {
	var acc extended
	acc.y.One()
	acc.z.One()
	var kb, sb [32]byte
	copy(kb[:], k.Bytes())
	copy(sb[:], s.Bytes())
	acc.addMultiple(pt, &kb)
	acc.addMultiple(baseTable(), &sb)
	p, err := new(edwards25519.Point).SetExtendedCoordinates(&acc.x, &acc.y, &acc.z, &acc.t)
	if err != nil {
		return nil, false // cannot happen: sums of curve points are on the curve
	}
	return p.Bytes(), true
}
