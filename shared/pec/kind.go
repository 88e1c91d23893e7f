package pec

import "strings"

// kindAliases maps the non-standard X-Ricevuta (and daticert tipo) values that
// providers are known to write to the standard kind they stand for.
//
// non-accettazione-virus is the "avviso di non accettazione per virus
// informatici" (DPCM 2/11/2005 art. 6 c. 8 a): the sender's own provider refused
// the message at acceptance, so it is a non-accettazione (with errore virus).
// rilevazione-virus is another notice, the one the recipient's provider sends
// to the sender's provider (c. 8 b), and is not what these messages are.
var kindAliases = map[string]Kind{
	"mancata-consegna":           KindErroreConsegna,
	"mancata-consegna-virus":     KindErroreConsegna,
	"preavviso-mancata-consegna": KindPreavvisoErroreConsegna,
	"non-accettazione-virus":     KindNonAccettazione,
}

// normalizeKindValue lower-cases a header or attribute value and spells its
// separators as hyphens.
func normalizeKindValue(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if strings.ContainsAny(v, "_ ") {
		v = kindSeparators.Replace(v)
	}
	return v
}

var kindSeparators = strings.NewReplacer("_", "-", " ", "-")

// lookupKind reads an X-Ricevuta or daticert tipo value: the kind, and whether
// the value was a known non-standard spelling.
func lookupKind(v string) (k Kind, alias bool) {
	n := normalizeKindValue(v)
	if k := Kind(n); k.daticertKind() {
		return k, n != strings.ToLower(strings.TrimSpace(v))
	}
	if k, ok := kindAliases[n]; ok {
		return k, true
	}
	return "", false
}

// subjectKinds maps the providers' subject prefixes to kinds, longest first.
// "PER SUP. TEMPO MASSIMO" is used both by the 12-hour warning and by the
// 24-hour notice: the milder kind is taken, and the final notice follows.
var subjectKinds = []struct {
	prefix string
	kind   Kind
}{
	{"AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO:", KindPreavvisoErroreConsegna},
	{"AVVISO DI MANCATA CONSEGNA PER VIRUS:", KindErroreConsegna},
	{"AVVISO DI NON ACCETTAZIONE PER VIRUS:", KindNonAccettazione},
	{"AVVISO DI NON ACCETTAZIONE PER ECCEZIONE FORMALE:", KindNonAccettazione},
	{"AVVISO DI MANCATA CONSEGNA:", KindErroreConsegna},
	{"AVVISO DI NON ACCETTAZIONE:", KindNonAccettazione},
	{"AVVISO DI RILEVAZIONE VIRUS:", KindRilevazioneVirus},
	{"PROBLEMA DI SICUREZZA:", KindRilevazioneVirus},
	{"ANOMALIA MESSAGGIO:", KindAnomalia},
	{"POSTA CERTIFICATA:", KindPostaCertificata},
	{"PRESA IN CARICO:", KindPresaInCarico},
	{"ACCETTAZIONE:", KindAccettazione},
	{"CONSEGNA:", KindAvvenutaConsegna},
}

// subjectKind returns the kind a provider's subject prefix names, or "".
func subjectKind(subject string) Kind {
	s := strings.TrimSpace(subject)
	for _, p := range subjectKinds {
		if len(s) >= len(p.prefix) && strings.EqualFold(s[:len(p.prefix)], p.prefix) {
			return p.kind
		}
	}
	return ""
}
