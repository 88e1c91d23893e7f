package domain

import "sort"

// NoteCode says what an event that changes no state is about (a note filed
// under an upload or a request), so that a clerk reads it in Italian while
// the Detail stays for operators. Events that record a state change carry
// no note: their state says it.
type NoteCode string

// Notes about a request.
const (
	NoteRegisterRetry   NoteCode = "register-retry"   // the register was unavailable: retried
	NoteSendRetry       NoteCode = "send-retry"       // a submission certainly did not leave: retried
	NoteSendUnknown     NoteCode = "send-unknown"     // a submission broke off: its receipt is looked for
	NoteResent          NoteCode = "resent"           // no receipt within the grace: the stored message sent again
	NoteSentFound       NoteCode = "sent-found"       // the acceptance of an interrupted submission was found
	NoteTakenInCharge   NoteCode = "taken-in-charge"  // presa in carico by the recipient's provider
	NoteDeliveryWarning NoteCode = "delivery-warning" // preavviso di mancata consegna (12 hours)
	NoteLateReceipt     NoteCode = "late-receipt"     // a receipt read after a later state: no change
	NoteOverdue         NoteCode = "overdue"          // no reply within the days configured
	NoteReplyAttributed NoteCode = "reply-attributed" // the Procura's reply was attributed to the request
	NoteFromTriage      NoteCode = "from-triage"      // the protocol office assigned a message to the request
)

// Notes about a person of a list.
const (
	NoteCandidate   NoteCode = "candidate"    // another certificate arrived: kept beside the one that stands
	NoteChosen      NoteCode = "chosen"       // the protocol office chose which certificate stands
	NoteDownloaded  NoteCode = "downloaded"   // a certificate was downloaded (audit)
	NoteMessageRead NoteCode = "message-read" // a triage message was opened (audit)
)

var noteItalian = map[NoteCode]string{
	NoteRegisterRetry:   "Protocollazione non riuscita per ora: si riprova al prossimo giro",
	NoteSendRetry:       "Invio non riuscito, nulla è partito: si riprova al prossimo giro",
	NoteSendUnknown:     "Invio interrotto: si cerca la ricevuta di accettazione prima di riprovare",
	NoteResent:          "Nessuna ricevuta: inviato di nuovo lo stesso messaggio",
	NoteSentFound:       "Trovata la ricevuta di accettazione dell'invio interrotto",
	NoteTakenInCharge:   "Presa in carico dal gestore PEC della Procura",
	NoteDeliveryWarning: "Avviso del gestore: consegna non ancora confermata dopo 12 ore",
	NoteLateReceipt:     "Ricevuta arrivata in ritardo: nessun cambiamento",
	NoteOverdue:         "Nessuna risposta della Procura nei giorni previsti",
	NoteReplyAttributed: "Risposta della Procura attribuita a questa richiesta",
	NoteFromTriage:      "Messaggio attribuito a questa richiesta dall'ufficio protocollo",
	NoteCandidate:       "Arrivato un altro certificato, diverso da quello valido: conservato per l'ufficio protocollo",
	NoteChosen:          "L'ufficio protocollo ha scelto il certificato valido",
	NoteDownloaded:      "Certificato scaricato",
	NoteMessageRead:     "Messaggio aperto",
}

// Italian is the note's text for a clerk ("" for an unknown code).
func (n NoteCode) Italian() string { return noteItalian[n] }

// NoteCodes lists every note code, sorted (tests check each has its text).
func NoteCodes() []NoteCode {
	out := make([]NoteCode, 0, len(noteItalian))
	for c := range noteItalian {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
