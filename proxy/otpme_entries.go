package proxy

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/ldapotp/ldapotp/otpme"
	"github.com/ldapotp/ldapotp/schema"
)

// The OTPme objects in the directory (schema/otpme.schema), under the
// container <base> (config otpme_base):
//
//	ou=users,<base>     otpmeName=<user>,ou=users,<base>            otpmeUser
//	                    otpmeName=<token>,otpmeName=<user>,...       otpmeToken
//	ou=groups,<base>    otpmeName=<group>,ou=groups,<base>          otpmeGroup
//	ou=clients,<base>   otpmeName=<client>,ou=clients,<base>        otpmeClient
//	ou=state,<base>     the shared Store's entries (DirStore)
//
// Absent optional attributes read as the engine's defaults (enabled, max
// fail otpme.DefaultMaxFail, timeouts otpme.DefaultTimeout and
// otpme.DefaultUnusedTimeout, everything else off, empty or zero).

// Object classes of the OTPme objects.
const (
	objClassUser   = "otpmeUser"
	objClassToken  = "otpmeToken"
	objClassGroup  = "otpmeGroup"
	objClassClient = "otpmeClient"
)

// Attributes of the OTPme objects.
const (
	objAttrID            = "otpmeID"
	objAttrName          = "otpmeName"
	objAttrEnabled       = "otpmeEnabled"
	objAttrDescription   = "otpmeDescription"
	objAttrBindDN        = "otpmeBindDN"
	objAttrSessions      = "otpmeSessions"
	objAttrMaxFail       = "otpmeMaxFail"
	objAttrTokenType     = "otpmeTokenType"
	objAttrAccessGroup   = "otpmeAccessGroup"
	objAttrPasswordHash  = "otpmePasswordHash" // secret
	objAttrMOTPSecret    = "otpmeMOTPSecret"   // secret
	objAttrMOTPPIN       = "otpmeMOTPPIN"      // secret
	objAttrMOTPWindow    = "otpmeMOTPWindow"
	objAttrOATHToken     = "otpmeOATHToken"
	objAttrChildGroup    = "otpmeChildGroup"
	objAttrChildSession  = "otpmeChildSession"
	objAttrSessionMaster = "otpmeSessionMaster"
	objAttrMaxLogin      = "otpmeMaxLogin"
	objAttrTimeout       = "otpmeTimeout"
	objAttrUnusedTimeout = "otpmeUnusedTimeout"
	objAttrAddress       = "otpmeAddress"
	objAttrTrustCheck    = "otpmeTrustCheck"
	objAttrClientSecret  = "otpmeClientSecret" // secret
	objAttrCertSubject   = "otpmeCertSubject"
	objAttrListener      = "otpmeListener"
)

// objSearchAttrs are the attributes the loader asks for.
var objSearchAttrs = []string{schema.AttrObjectClass, objAttrID, objAttrName, objAttrEnabled,
	objAttrDescription, objAttrBindDN, objAttrSessions, objAttrMaxFail, objAttrTokenType,
	objAttrAccessGroup, objAttrPasswordHash, objAttrMOTPSecret, objAttrMOTPPIN, objAttrMOTPWindow,
	objAttrOATHToken, objAttrChildGroup, objAttrChildSession, objAttrSessionMaster, objAttrMaxLogin,
	objAttrTimeout, objAttrUnusedTimeout, objAttrAddress, objAttrTrustCheck, objAttrClientSecret,
	objAttrCertSubject, objAttrListener}

// objSearchFilter selects the OTPme objects below the container.
const objSearchFilter = "(|(objectClass=otpmeUser)(objectClass=otpmeToken)(objectClass=otpmeGroup)(objectClass=otpmeClient))"

// Containers below the OTPme base.
const (
	objUsersRDN   = "ou=users"
	objGroupsRDN  = "ou=groups"
	objClientsRDN = "ou=clients"
	objStateRDN   = "ou=state"
)

// errObjectEntry is wrapped by every decoding error.
var errObjectEntry = errors.New("invalid OTPme entry")

// objKind is the kind of an OTPme entry.
type objKind int

// The kinds of OTPme entries.
const (
	objNone objKind = iota
	objUser
	objToken
	objGroup
	objClient
)

// objKindOf tells the kind of e by its object class.
func objKindOf(e schema.Entry) objKind {
	for i, class := range []string{objClassUser, objClassToken, objClassGroup, objClassClient} {
		if e.HasObjectClass(class) {
			return objKind(i + 1)
		}
	}
	return objNone
}

// objAttrs are an object's attributes as written: canonical attribute
// names, values in a fixed order; an empty attribute is absent. It holds
// secrets: never log it.
type objAttrs map[string][]string

// set sets attr to vals, or leaves it absent if there are none or the
// only one is "".
func (a objAttrs) set(attr string, vals ...string) {
	if len(vals) == 0 || (len(vals) == 1 && vals[0] == "") {
		return
	}
	a[attr] = vals
}

// objBool is the LDAP Boolean syntax.
func objBool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// objSeconds writes a duration as whole seconds, rounded up.
func objSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// encodeUser returns u's attributes (otpmeName included).
func encodeUser(u otpme.User) objAttrs {
	a := objAttrs{}
	a.set(objAttrID, u.ID)
	a.set(objAttrName, u.Name)
	a.set(objAttrEnabled, objBool(u.Enabled))
	a.set(objAttrBindDN, u.BindDN)
	a.set(objAttrSessions, objBool(u.Sessions))
	a.set(objAttrMaxFail, strconv.Itoa(u.MaxFail))
	a.set(objAttrDescription, u.Description)
	return a
}

// encodeToken returns t's attributes (otpmeName included; the user is the
// parent entry).
func encodeToken(t otpme.Token) objAttrs {
	a := objAttrs{}
	a.set(objAttrID, t.ID)
	a.set(objAttrName, t.Name)
	a.set(objAttrTokenType, string(t.Type))
	a.set(objAttrEnabled, objBool(t.Enabled))
	a.set(objAttrAccessGroup, t.Groups...)
	a.set(objAttrDescription, t.Description)
	a.set(objAttrPasswordHash, t.PasswordHash)
	a.set(objAttrMOTPSecret, string(t.Secret))
	a.set(objAttrMOTPPIN, string(t.PIN))
	if t.Window != 0 {
		a.set(objAttrMOTPWindow, strconv.Itoa(t.Window))
	}
	a.set(objAttrOATHToken, t.DN)
	return a
}

// encodeGroup returns g's attributes (otpmeName included).
func encodeGroup(g otpme.Group) objAttrs {
	a := objAttrs{}
	a.set(objAttrID, g.ID)
	a.set(objAttrName, g.Name)
	a.set(objAttrEnabled, objBool(g.Enabled))
	a.set(objAttrChildGroup, g.Children...)
	a.set(objAttrChildSession, g.ChildSessions...)
	a.set(objAttrMaxFail, strconv.Itoa(g.MaxFail))
	a.set(objAttrSessions, objBool(g.Sessions))
	a.set(objAttrSessionMaster, objBool(g.SessionMaster))
	a.set(objAttrMaxLogin, strconv.Itoa(g.MaxLogin))
	a.set(objAttrTimeout, objSeconds(g.Timeout))
	a.set(objAttrUnusedTimeout, objSeconds(g.UnusedTimeout))
	a.set(objAttrDescription, g.Description)
	return a
}

// encodeClient returns c's attributes (otpmeName included; the client's
// otpmeID is not part of otpme.Client and is written once, on add).
func encodeClient(c otpme.Client) objAttrs {
	a := objAttrs{}
	a.set(objAttrName, c.Name)
	a.set(objAttrEnabled, objBool(c.Enabled))
	a.set(objAttrAccessGroup, c.AccessGroup)
	addrs := make([]string, len(c.Addresses))
	for i, p := range c.Addresses {
		addrs[i] = objPrefixString(p)
	}
	a.set(objAttrAddress, addrs...)
	a.set(objAttrTrustCheck, objBool(c.TrustCheck))
	a.set(objAttrClientSecret, string(c.Secret))
	a.set(objAttrCertSubject, c.CertSubjects...)
	a.set(objAttrListener, c.Listeners...)
	a.set(objAttrDescription, c.Description)
	return a
}

// objPrefixString writes a one-address prefix as the address.
func objPrefixString(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// objDecoder reads the attributes of one entry and keeps the first error,
// which names the entry and the attribute. Error texts never hold a value
// of a secret attribute.
type objDecoder struct {
	e   schema.Entry
	err error
}

// fail records the first problem.
func (d *objDecoder) fail(attr string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("entry %q: %s: %w: %w", d.e.DN, attr, errObjectEntry, err)
	}
}

// str returns the first value of attr, "" if absent.
func (d *objDecoder) str(attr string) string {
	v, _ := d.e.First(attr)
	return string(v)
}

// required returns the first value of attr, which must not be empty.
func (d *objDecoder) required(attr string) string {
	v := d.str(attr)
	if v == "" {
		d.fail(attr, errors.New("missing"))
	}
	return v
}

// strs returns every value of attr but empty ones.
func (d *objDecoder) strs(attr string) []string {
	var out []string
	for _, v := range d.e.Values(attr) {
		if len(v) > 0 {
			out = append(out, string(v))
		}
	}
	return out
}

// secret returns the first value of attr as a Secret (nil if absent).
func (d *objDecoder) secret(attr string) otpme.Secret {
	v, ok := d.e.First(attr)
	if !ok || len(v) == 0 {
		return nil
	}
	return slices.Clone(otpme.Secret(v))
}

// boolean reads a Boolean (TRUE or FALSE), def if absent.
func (d *objDecoder) boolean(attr string, def bool) bool {
	switch v := d.str(attr); strings.ToUpper(v) {
	case "":
		return def
	case "TRUE":
		return true
	case "FALSE":
		return false
	default:
		d.fail(attr, fmt.Errorf("%q is not TRUE or FALSE", v))
		return def
	}
}

// integer reads an integer in [lo, hi], def if absent.
func (d *objDecoder) integer(attr string, def, lo, hi int) int {
	v := d.str(attr)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		d.fail(attr, fmt.Errorf("%q is not an integer from %d to %d", v, lo, hi))
		return def
	}
	return n
}

// seconds reads a positive number of seconds, def if absent.
func (d *objDecoder) seconds(attr string, def time.Duration) time.Duration {
	n := d.integer(attr, -1, 1, int(math.MaxInt64/int64(time.Second)))
	if n < 0 {
		return def
	}
	return time.Duration(n) * time.Second
}

// decodeUser reads a user entry.
func decodeUser(e schema.Entry) (otpme.User, error) {
	d := &objDecoder{e: e}
	u := otpme.User{
		ID:          d.required(objAttrID),
		Name:        d.required(objAttrName),
		Enabled:     d.boolean(objAttrEnabled, true),
		BindDN:      d.str(objAttrBindDN),
		Sessions:    d.boolean(objAttrSessions, false),
		MaxFail:     d.integer(objAttrMaxFail, otpme.DefaultMaxFail, 0, math.MaxInt32),
		Description: d.str(objAttrDescription),
	}
	if u.BindDN != "" {
		if _, err := ldap.ParseDN(u.BindDN); err != nil {
			d.fail(objAttrBindDN, err)
		}
	}
	return u, d.err
}

// decodeToken reads a token entry of the user called user.
func decodeToken(e schema.Entry, user string) (otpme.Token, error) {
	d := &objDecoder{e: e}
	t := otpme.Token{
		ID:           d.required(objAttrID),
		Name:         d.required(objAttrName),
		User:         user,
		Type:         otpme.TokenType(strings.ToLower(d.required(objAttrTokenType))),
		Enabled:      d.boolean(objAttrEnabled, true),
		Groups:       d.strs(objAttrAccessGroup),
		Description:  d.str(objAttrDescription),
		PasswordHash: d.str(objAttrPasswordHash),
		Secret:       d.secret(objAttrMOTPSecret),
		PIN:          d.secret(objAttrMOTPPIN),
		Window:       d.integer(objAttrMOTPWindow, 0, 0, otpme.MaxMOTPWindow),
		DN:           d.str(objAttrOATHToken),
	}
	switch {
	case t.Type == otpme.TokenPassword || t.Type == "":
	case t.Type == otpme.TokenMOTP && len(t.Secret) == 0:
		d.fail(objAttrMOTPSecret, errors.New("missing for an motp token: its codes would be public"))
	case t.Type == otpme.TokenMOTP && len(t.PIN) == 0:
		d.fail(objAttrMOTPPIN, errors.New("missing for an motp token: its codes would be public"))
	case t.Type == otpme.TokenMOTP:
	case !t.Type.OATH():
		d.fail(objAttrTokenType, fmt.Errorf("%q is not password, motp, hotp or totp", t.Type))
	case t.DN == "":
		d.fail(objAttrOATHToken, fmt.Errorf("missing for a %s token", t.Type))
	}
	return t, d.err
}

// decodeGroup reads an access group entry.
func decodeGroup(e schema.Entry) (otpme.Group, error) {
	d := &objDecoder{e: e}
	g := otpme.Group{
		ID:            d.required(objAttrID),
		Name:          d.required(objAttrName),
		Enabled:       d.boolean(objAttrEnabled, true),
		Children:      d.strs(objAttrChildGroup),
		ChildSessions: d.strs(objAttrChildSession),
		MaxFail:       d.integer(objAttrMaxFail, otpme.DefaultMaxFail, 0, math.MaxInt32),
		Sessions:      d.boolean(objAttrSessions, false),
		SessionMaster: d.boolean(objAttrSessionMaster, false),
		MaxLogin:      d.integer(objAttrMaxLogin, 0, 0, math.MaxInt32),
		Timeout:       d.seconds(objAttrTimeout, otpme.DefaultTimeout),
		UnusedTimeout: d.seconds(objAttrUnusedTimeout, otpme.DefaultUnusedTimeout),
		Description:   d.str(objAttrDescription),
	}
	return g, d.err
}

// decodeClient reads a client entry.
func decodeClient(e schema.Entry) (otpme.Client, error) {
	d := &objDecoder{e: e}
	c := otpme.Client{
		Name:         d.required(objAttrName),
		Enabled:      d.boolean(objAttrEnabled, true),
		AccessGroup:  d.str(objAttrAccessGroup),
		TrustCheck:   d.boolean(objAttrTrustCheck, false),
		Secret:       d.secret(objAttrClientSecret),
		CertSubjects: d.strs(objAttrCertSubject),
		Listeners:    d.strs(objAttrListener),
		Description:  d.str(objAttrDescription),
	}
	for _, s := range d.strs(objAttrAddress) {
		p, err := objParsePrefix(s)
		if err != nil {
			d.fail(objAttrAddress, err)
			continue
		}
		c.Addresses = append(c.Addresses, p)
	}
	return c, d.err
}

// objParsePrefix reads an address (a one-address prefix) or a CIDR prefix,
// as otpme.MemObjects.AddClientAddress does.
func objParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// objRDN is the RDN of an object called name.
func objRDN(name string) string { return objAttrName + "=" + escapeRDNValue(name) }

// objChildDN is the DN of the object called name below parent.
func objChildDN(name, parent string) string { return objRDN(name) + "," + parent }

// escapeRDNValue escapes an attribute value for an RDN (RFC 4514 §2.4):
// the special characters with a backslash, control characters, DEL and
// invalid UTF-8 as \XX; other non-ASCII characters stay as they are.
func escapeRDNValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case strings.ContainsRune(`"+,;<>\=`, r),
			(r == ' ' || r == '#') && i == 0,
			r == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			fmt.Fprintf(&b, `\%02X`, v[i])
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	return b.String()
}

// splitRDN splits dn at its first unescaped ',' into the first RDN and the
// parent DN.
func splitRDN(dn string) (rdn, parent string) {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return dn[:i], strings.TrimSpace(dn[i+1:])
		}
	}
	return dn, ""
}

// canonicalDN returns a form of dn that is equal for two DNs exactly when
// they are equal with the attribute types and values compared
// case-insensitively (Unicode simple folding), whatever their spacing,
// escaping and order of multi-valued RDN parts: what ldap.DN.EqualFold
// compares, usable as a map key.
func canonicalDN(dn string) (string, error) {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return "", fmt.Errorf("DN %q: %w", dn, err)
	}
	rdns := make([]string, len(p.RDNs))
	for i, r := range p.RDNs {
		parts := make([]string, len(r.Attributes))
		for j, a := range r.Attributes {
			parts[j] = escapeRDNValue(foldCase(a.Type)) + "=" + escapeRDNValue(foldCase(a.Value))
		}
		slices.Sort(parts)
		rdns[i] = strings.Join(parts, "+")
	}
	return strings.Join(rdns, ","), nil
}

// foldCase maps every rune to the smallest rune of its simple case-folding
// orbit, so that foldCase(a) == foldCase(b) exactly when
// strings.EqualFold(a, b).
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

// ---- an edit as LDAP operations ----

// objOpKind is the kind of one write of an edit.
type objOpKind int

// The writes of an edit, in the order a plan sends them.
const (
	objOpDelete objOpKind = iota // delete the entry (and its subtree)
	objOpRename                  // ModifyDN to rdn, same parent, old RDN deleted
	objOpEnsure                  // add a container unless it exists
	objOpAdd                     // add the entry with attrs
	objOpModify                  // replace attrs (an attribute without values is removed)
)

// String names the operation for errors.
func (k objOpKind) String() string {
	return [...]string{"delete", "rename", "create container", "add", "modify"}[k]
}

// objOp is one write of an edit. attrs may hold secrets: never log it.
type objOp struct {
	kind  objOpKind
	dn    string
	rdn   string   // objOpRename: the new RDN
	attrs objAttrs // objOpEnsure, objOpAdd: the entry (objectClass too); objOpModify: the replacements
}

// objRec is an object as planning sees it: its key (ID; clients: name),
// name, owner (tokens: the user's ID) and attributes.
type objRec struct {
	key, name, owner string
	class            string
	attrs            objAttrs
}

// objPlan computes the writes that turn the directory of old into next.
type objPlan struct {
	old   *objTree
	base  string
	newID func() string
	dn    map[string]string // kind:key -> DN, updated as renames and adds are planned
	ops   []objOp
}

// planObjEdit returns the writes that turn the objects of old (as loaded,
// with their DNs) into next, in a safe order: deletes (tokens before their
// users), renames (users before their tokens, through a temporary name
// where targets collide), containers, adds (users before their tokens),
// modifies. newID names client entries and temporary RDNs.
func planObjEdit(old *objTree, next otpme.Snapshot, base string, newID func() string) []objOp {
	p := &objPlan{old: old, base: base, newID: newID, dn: map[string]string{}}
	for kind, m := range map[string]map[string]string{"user": old.userDN, "token": old.tokenDN,
		"group": old.groupDN, "client": old.clientDN} {
		for k, dn := range m {
			p.dn[kind+":"+k] = dn
		}
	}
	was, is := objRecs(old.snap), objRecs(next)
	kinds := []string{"user", "token", "group", "client"}
	sides := map[string]*objSides{}
	for _, kind := range kinds {
		sides[kind] = newObjSides(was[kind], is[kind], kind == "client")
	}
	for _, kind := range []string{"token", "user", "group", "client"} {
		p.deletes(kind, sides[kind])
	}
	for _, kind := range kinds {
		p.renames(kind, sides[kind])
	}
	p.containers(sides)
	for _, kind := range kinds {
		p.adds(kind, sides[kind])
	}
	for _, kind := range kinds {
		p.modifies(kind, sides[kind])
	}
	return p.ops
}

// objRecs returns the objects of s by kind, each list in the snapshot's
// order.
func objRecs(s otpme.Snapshot) map[string][]objRec {
	userID := map[string]string{}
	out := map[string][]objRec{}
	for _, u := range s.Users {
		userID[u.Name] = u.ID
		out["user"] = append(out["user"], objRec{key: u.ID, name: u.Name, class: objClassUser, attrs: encodeUser(u)})
	}
	for _, t := range s.Tokens {
		out["token"] = append(out["token"], objRec{key: t.ID, name: t.Name, owner: userID[t.User], class: objClassToken, attrs: encodeToken(t)})
	}
	for _, g := range s.Groups {
		out["group"] = append(out["group"], objRec{key: g.ID, name: g.Name, class: objClassGroup, attrs: encodeGroup(g)})
	}
	for _, c := range s.Clients {
		out["client"] = append(out["client"], objRec{key: c.Name, name: c.Name, class: objClassClient, attrs: encodeClient(c)})
	}
	return out
}

// objSides pairs the old and new records of one kind.
type objSides struct {
	was, is []objRec
	old     map[string]objRec // new key -> its old record, for objects that stay
}

// newObjSides pairs records by key; a token whose owner changed is not the
// same object. Clients, which have no ID, are paired by name, and a client
// that is gone with one that is new with the same attributes but the name
// are taken as a rename (mistaking two such clients for a rename leaves
// the directory as a delete and an add would).
func newObjSides(was, is []objRec, renames bool) *objSides {
	s := &objSides{was: was, is: is, old: map[string]objRec{}}
	byKey := map[string]objRec{}
	for _, o := range was {
		byKey[o.key] = o
	}
	var fresh []objRec
	for _, r := range is {
		if o, ok := byKey[r.key]; ok && o.owner == r.owner {
			s.old[r.key] = o
		} else if !ok {
			fresh = append(fresh, r)
		}
	}
	if renames {
		s.pairRenames(fresh)
	}
	return s
}

// pairRenames pairs new clients with gone ones (not kept under their
// name) that differ in the name only.
func (s *objSides) pairRenames(fresh []objRec) {
	kept := map[string]bool{}
	for _, o := range s.old {
		kept[o.key] = true
	}
	for _, n := range fresh {
		for _, o := range s.was {
			if !kept[o.key] && sameAttrs(o.attrs, n.attrs, objAttrName) {
				s.old[n.key], kept[o.key] = o, true
				break
			}
		}
	}
}

func (p *objPlan) deletes(kind string, s *objSides) {
	kept := map[string]bool{}
	for _, o := range s.old {
		kept[o.key] = true
	}
	for _, o := range s.was {
		if !kept[o.key] {
			p.ops = append(p.ops, objOp{kind: objOpDelete, dn: p.dn[kind+":"+o.key]})
		}
	}
}

// objMove is one planned rename.
type objMove struct {
	from, parent, name string
}

func (p *objPlan) renames(kind string, s *objSides) {
	var moves []objMove
	for _, r := range s.is {
		o, ok := s.old[r.key]
		if !ok {
			continue
		}
		from := p.dn[kind+":"+o.key]
		if kind == "token" { // its user may have moved
			rdn, _ := splitRDN(from)
			from = rdn + "," + p.dn["user:"+r.owner]
		}
		_, parent := splitRDN(from)
		p.dn[kind+":"+r.key] = from
		if o.name != r.name {
			moves = append(moves, objMove{from: from, parent: parent, name: r.name})
			p.dn[kind+":"+r.key] = objChildDN(r.name, parent)
		}
	}
	p.move(moves)
}

// move plans the renames: an entry whose DN is the target of a rename
// (its own too: a change of case) goes through a temporary name first.
func (p *objPlan) move(moves []objMove) {
	targets := map[string]bool{}
	for _, m := range moves {
		targets[dnKey(objChildDN(m.name, m.parent))] = true
	}
	for i, m := range moves {
		if targets[dnKey(m.from)] {
			tmp := objRDN("ldapotp-rename-" + p.newID())
			p.ops = append(p.ops, objOp{kind: objOpRename, dn: m.from, rdn: tmp})
			moves[i].from = tmp + "," + m.parent
		}
	}
	for _, m := range moves {
		p.ops = append(p.ops, objOp{kind: objOpRename, dn: m.from, rdn: objRDN(m.name)})
	}
}

// dnKey is canonicalDN, or the DN itself if it cannot be parsed.
func dnKey(dn string) string {
	if k, err := canonicalDN(dn); err == nil {
		return k
	}
	return dn
}

// containers plans the creation of the containers if anything is added.
func (p *objPlan) containers(sides map[string]*objSides) {
	adds := false
	for _, s := range sides {
		adds = adds || len(s.old) < len(s.is)
	}
	if !adds {
		return
	}
	for _, rdn := range []string{objUsersRDN, objGroupsRDN, objClientsRDN, objStateRDN} {
		_, name, _ := strings.Cut(rdn, "=")
		p.ops = append(p.ops, objOp{kind: objOpEnsure, dn: rdn + "," + p.base,
			attrs: objAttrs{schema.AttrObjectClass: {"organizationalUnit"}, "ou": {name}}})
	}
}

func (p *objPlan) adds(kind string, s *objSides) {
	for _, r := range s.is {
		if _, ok := s.old[r.key]; ok {
			continue
		}
		parent := map[string]string{"user": objUsersRDN + "," + p.base, "group": objGroupsRDN + "," + p.base,
			"client": objClientsRDN + "," + p.base, "token": p.dn["user:"+r.owner]}[kind]
		attrs := maps.Clone(r.attrs)
		attrs[schema.AttrObjectClass] = []string{r.class}
		if kind == "client" {
			attrs[objAttrID] = []string{p.newID()}
		}
		dn := objChildDN(r.name, parent)
		p.dn[kind+":"+r.key] = dn
		p.ops = append(p.ops, objOp{kind: objOpAdd, dn: dn, attrs: attrs})
	}
}

func (p *objPlan) modifies(kind string, s *objSides) {
	for _, r := range s.is {
		o, ok := s.old[r.key]
		if !ok {
			continue
		}
		changed := objAttrs{}
		for _, name := range attrNames(o.attrs, r.attrs) {
			if name != objAttrName && !slices.Equal(o.attrs[name], r.attrs[name]) {
				changed[name] = append([]string{}, r.attrs[name]...)
			}
		}
		if len(changed) > 0 {
			p.ops = append(p.ops, objOp{kind: objOpModify, dn: p.dn[kind+":"+r.key], attrs: changed})
		}
	}
}

// attrNames returns the attribute names of a and b, sorted.
func attrNames(a, b objAttrs) []string {
	names := slices.Collect(maps.Keys(a))
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// sameAttrs reports whether a and b are equal but for the attribute skip.
func sameAttrs(a, b objAttrs, skip string) bool {
	for _, n := range attrNames(a, b) {
		if n != skip && !slices.Equal(a[n], b[n]) {
			return false
		}
	}
	return true
}
