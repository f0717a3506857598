package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Shell completion: "ldapotp completion bash|zsh" prints a script that
// completes commands, objects, verbs and flag names (values are left to
// the shell's file completion). Both are generated from the verb table, so
// they never fall behind it.

const completionUsage = `usage: ldapotp completion bash|zsh

  bash:  source <(ldapotp completion bash)     (or save it in /etc/bash_completion.d/ldapotp)
  zsh:   source <(ldapotp completion zsh)      (or save it as _ldapotp in your $fpath)
`

// runCompletion prints the completion script of a shell.
func runCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, completionUsage)
		return exitUsage
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(stdout, bashCompletion())
		return exitOK
	case "zsh":
		fmt.Fprint(stdout, zshCompletion())
		return exitOK
	}
	fmt.Fprintf(stderr, "ldapotp completion: unknown shell %q\n%s", args[0], completionUsage)
	return exitUsage
}

// completionWords returns the words after "ldapotp" and, per object, its
// verbs (the tool object also lists tool.go's otpauth and code).
func completionWords() (top []string, verbs map[string][]string) {
	top = []string{"serve", "completion", "version", "help"}
	verbs = map[string][]string{"completion": {"bash", "zsh"}}
	for _, o := range objects() {
		top = append(top, o.name)
		for _, v := range o.verbs {
			verbs[o.name] = append(verbs[o.name], v.name)
		}
	}
	verbs["tool"] = append(verbs["tool"], "otpauth", "code")
	return top, verbs
}

// globalFlagNames returns the global flags, "--name", sorted; valued
// lists those that take a value.
func globalFlagNames() (names, valued []string) {
	var g globalFlags
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	g.register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		names = append(names, "--"+f.Name)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			valued = append(valued, "--"+f.Name)
		}
	})
	sort.Strings(names)
	sort.Strings(valued)
	return names, valued
}

// bashCompletion is the bash script.
func bashCompletion() string {
	top, verbs := completionWords()
	flags, valued := globalFlagNames()
	var cases strings.Builder
	for _, o := range sortedKeys(verbs) {
		fmt.Fprintf(&cases, "    %s) words=%q ;;\n", o, strings.Join(verbs[o], " "))
	}
	return `# bash completion for ldapotp (ldapotp completion bash)
_ldapotp() {
  local cur=${COMP_WORDS[COMP_CWORD]} words="" i pos=() skip=0
  local valued=" ` + strings.Join(valued, " ") + ` "
  for ((i = 1; i < COMP_CWORD; i++)); do
    local w=${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      -*) [[ $valued == *" ${w%%=*} "* && $w != *=* ]] && skip=1 ;;
      *) pos+=("$w") ;;
    esac
  done
  if ((skip)); then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "` + strings.Join(flags, " ") + `" -- "$cur")); return
  fi
  case ${#pos[@]} in
  0) words="` + strings.Join(top, " ") + `" ;;
  1)
    case ${pos[0]} in
` + cases.String() + `    esac ;;
  *) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ldapotp ldapotp
`
}

// zshCompletion is the zsh script.
func zshCompletion() string {
	top, verbs := completionWords()
	flags, valued := globalFlagNames()
	var cases strings.Builder
	for _, o := range sortedKeys(verbs) {
		fmt.Fprintf(&cases, "      %s) compadd -- %s ;;\n", o, strings.Join(verbs[o], " "))
	}
	return `#compdef ldapotp
# zsh completion for ldapotp (ldapotp completion zsh)
_ldapotp() {
  local -a pos
  local valued=" ` + strings.Join(valued, " ") + ` " skip=0 i w
  for ((i = 2; i < CURRENT; i++)); do
    w=${words[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      -*) [[ $valued == *" ${w%%=*} "* && $w != *=* ]] && skip=1 ;;
      *) pos+=("$w") ;;
    esac
  done
  if ((skip)); then _files; return; fi
  if [[ ${words[CURRENT]} == -* ]]; then
    compadd -- ` + strings.Join(flags, " ") + `; return
  fi
  case ${#pos} in
  0) compadd -- ` + strings.Join(top, " ") + ` ;;
  1)
    case ${pos[1]} in
` + cases.String() + `    esac ;;
  *) _files ;;
  esac
}
if [[ ${funcstack[1]} == _ldapotp ]]; then
  _ldapotp "$@"
else
  compdef _ldapotp ldapotp
fi
`
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
