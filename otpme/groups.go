package otpme

import (
	"slices"
	"sort"
)

// graph is the access groups as one verification sees them.
type graph struct {
	byName map[string]Group
	byID   map[string]string // ID → name
}

func newGraph(gs []Group) graph {
	g := graph{byName: make(map[string]Group, len(gs)), byID: make(map[string]string, len(gs))}
	for _, x := range gs {
		g.byName[x.Name] = x
		g.byID[x.ID] = x.Name
	}
	return g
}

func (g graph) enabled(name string) bool { return g.byName[name].Enabled }

// parents returns the names of the groups that list name as a child,
// sorted.
func (g graph) parents(name string) []string {
	var ps []string
	for n, x := range g.byName {
		if slices.Contains(x.Children, name) {
			ps = append(ps, n)
		}
	}
	sort.Strings(ps)
	return ps
}

// ancestors returns the enabled ancestors of name, nearest first, each
// once. A disabled group neither grants access nor passes it on.
func (g graph) ancestors(name string) []string {
	seen := map[string]bool{name: true}
	var out []string
	queue := g.parents(name)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] || !g.enabled(p) {
			continue
		}
		seen[p] = true
		out = append(out, p)
		queue = append(queue, g.parents(p)...)
	}
	return out
}

// grant returns the group through which tok may be used for the group
// name: name itself if the token holds it and it is enabled, else the
// nearest enabled ancestor the token holds. ok is false if there is none.
func (g graph) grant(tok Token, name string) (via string, ok bool) {
	if tok.HasGroup(name) && g.enabled(name) {
		return name, true
	}
	for _, a := range g.ancestors(name) {
		if tok.HasGroup(a) {
			return a, true
		}
	}
	return "", false
}

// reaches reports whether target is from or one of its descendants
// (child groups, transitively). Used to refuse child-group cycles.
func (g graph) reaches(from, target string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == target {
			return true
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, g.byName[n].Children...)
	}
	return false
}
