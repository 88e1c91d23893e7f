package api

import "strings"

// reasonsIT turns the handlers' reasons (English, for operators and the audit
// trail) into what a clerk reads. The English text stays available as
// reason_detail for the help desk. Matched by prefix; the Procura's own words,
// already Italian, are kept.
var reasonsIT = []struct{ prefix, it string }{
	{"refused by the Procura: ", "La Procura ha respinto la richiesta: "},
	{"no people left", "Tutti i nominativi erano già stati inclusi in altre richieste."},
	{"protocol registration refused", "Il protocollo generale ha rifiutato la registrazione della richiesta."},
	{"the PEC provider refused the message", "Il gestore PEC non ha accettato il messaggio (avviso di non accettazione)."},
	{"non-accettazione", "Il gestore PEC non ha accettato il messaggio (avviso di non accettazione)."},
	{"errore-consegna", "La PEC non è stata consegnata alla Procura (avviso di mancata consegna)."},
	{"rilevazione-virus", "Il gestore PEC ha rilevato un virus nel messaggio."},
	{"request not composed", "Non è stato possibile preparare la richiesta con i dati dei nominativi: contattare l'assistenza."},
	{"unknown tenant or office", "Ufficio non configurato: l'elenco non può essere accettato."},
	{"file too large", "Il file supera la dimensione massima consentita."},
	{"invalid manual protocol number or date", "Numero o data di protocollo non validi."},
	{"manual register: no protocol number supplied", "Manca il numero di protocollo assegnato dall'ufficio protocollo."},
	{"unreadable list", "Il file non è un elenco leggibile: il resoconto indica il motivo."},
	{"no data rows", "Il file non contiene nominativi."},
	{"no valid row", "Nessuna riga dell'elenco è valida: il resoconto indica il motivo per ciascuna."},
}

// italianReason returns the clerk's version of reason ("" stays "").
func italianReason(reason string) string {
	if reason == "" {
		return ""
	}
	for _, r := range reasonsIT {
		if strings.HasPrefix(reason, r.prefix) {
			if strings.HasSuffix(r.prefix, ": ") { // followed by the Procura's words
				return r.it + strings.TrimPrefix(reason, r.prefix)
			}
			return r.it
		}
	}
	return "Si è verificato un errore: l'assistenza può consultarne il dettaglio."
}
