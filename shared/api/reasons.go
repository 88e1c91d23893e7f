package api

import (
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
)

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

// triageIT is the protocol office's version of the poll's triage reasons.
var triageIT = []struct{ prefix, it string }{
	{"unreadable message", "Messaggio illeggibile: conservato così com'è."},
	{"not a PEC message", "Messaggio ordinario (non PEC) arrivato nella casella PEC."},
	{"anomaly envelope", "Anomalia: un messaggio ordinario è arrivato nella casella PEC."},
	{"unknown message kind", "Messaggio PEC di tipo sconosciuto."},
	{"posta-certificata with a signature", "Messaggio PEC con firma non verificata."},
	{"posta-certificata without the original", "Busta PEC senza il messaggio originale."},
	{"posta-certificata from a sender other than the Procura", "Messaggio PEC di un mittente diverso dalla Procura."},
	{"reply from the Procura quoting no protocol number", "Risposta della Procura senza un numero di protocollo riconoscibile."},
	{"reply from the Procura quoting protocol number", "Risposta della Procura con un numero di protocollo che non corrisponde ad alcuna richiesta."},
	{"reply from the Procura matching several batches", "Risposta della Procura che corrisponde a più richieste."},
	{"reply from the Procura without certificates", "Risposta della Procura senza certificati, non riconosciuta come rifiuto."},
	{"receipt of unexpected kind", "Ricevuta PEC di tipo inatteso."},
}

// triageReceipts covers the receipt reasons, which start with the receipt's kind.
var triageReceipts = []struct{ contains, it string }{
	{"receipt with a signature that is", "Ricevuta PEC con firma non verificata: se autentica, confermarla assegnandola alla richiesta."},
	{"receipt without the original Message-ID", "Ricevuta PEC che non indica il messaggio a cui si riferisce."},
	{"receipt for a Message-ID we did not send", "Ricevuta PEC di un messaggio non inviato da questo servizio."},
}

// italianTriage returns the protocol office's version of a triage reason.
func italianTriage(reason string) string {
	for _, r := range triageReceipts {
		if strings.Contains(reason, r.contains) {
			return r.it
		}
	}
	for _, r := range triageIT {
		if strings.HasPrefix(reason, r.prefix) {
			return r.it
		}
	}
	if reason == "" {
		return ""
	}
	return "Messaggio da esaminare: il dettaglio tecnico è riportato sotto."
}

// triageView is a triage item as the API shows it: reason in Italian, the
// recorded one as reason_detail.
type triageView struct {
	domain.TriageItem
	Reason string `json:"reason"`
	Detail string `json:"reason_detail"`
}

func viewTriage(it domain.TriageItem) triageView {
	return triageView{TriageItem: it, Reason: italianTriage(it.Reason), Detail: it.Reason}
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
