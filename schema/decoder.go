package schema

import (
	"errors"
	"fmt"
)

// decoder reads attributes of one entry and collects every problem, each
// naming the entry (what and DN) and the attribute.
type decoder struct {
	e    Entry
	what string // "token" or "params", for messages
	errs []error
}

// fail records err, prefixed with the entry and attribute.
func (d *decoder) fail(attr string, err error) {
	d.errs = append(d.errs, fmt.Errorf("schema: %s %q: %s: %w", d.what, d.e.DN, attr, err))
}

// err returns nil, the one problem, or all problems joined.
func (d *decoder) err() error {
	if len(d.errs) == 1 {
		return d.errs[0]
	}
	return errors.Join(d.errs...)
}

// integer decodes the first value of attr. It returns the value, the raw
// string ("" if absent) and whether the attribute is present and valid;
// absent gives def, a malformed value is recorded as ErrBadValue.
func (d *decoder) integer(attr string, def int64) (v int64, raw string, ok bool) {
	b, present := d.e.First(attr)
	if !present {
		return def, "", false
	}
	raw = string(b)
	v, err := parseInteger(raw)
	if err != nil {
		d.fail(attr, fmt.Errorf("value %.40q: %w: %w", raw, ErrBadValue, err))
		return def, raw, false
	}
	return v, raw, true
}

// requiredInteger is integer for an attribute without default: absent is
// recorded as ErrMissingAttribute.
func (d *decoder) requiredInteger(attr string) int64 {
	if _, present := d.e.First(attr); !present {
		d.fail(attr, ErrMissingAttribute)
		return 0
	}
	v, _, _ := d.integer(attr, 0)
	return v
}

// text returns the first value of attr as a string and whether it exists.
func (d *decoder) text(attr string) (string, bool) {
	b, ok := d.e.First(attr)
	return string(b), ok
}
