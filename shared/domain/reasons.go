package domain

import "sort"

// ReasonCode says, from a small closed set, why a list was refused, a
// request or a person failed, or a PEC message waits in the protocol
// office's triage. Programs test the code; people read its Italian text
// (Italian); operators read the Reason's Detail.
type ReasonCode string

// Why a list was refused.
const (
	ReasonUnknownOffice      ReasonCode = "unknown-office"       // the key names a Comune or office not configured
	ReasonFileTooLarge       ReasonCode = "file-too-large"       // over the size limit
	ReasonBadManualProtocol  ReasonCode = "bad-manual-protocol"  // a manual protocol number or date that is malformed
	ReasonNoManualProtocol   ReasonCode = "no-manual-protocol"   // a manual register and no number given
	ReasonManualNotAllowed   ReasonCode = "manual-not-allowed"   // a number given by someone who may not give one
	ReasonManualTaken        ReasonCode = "manual-protocol-used" // the number is another request's already
	ReasonManualTooMany      ReasonCode = "manual-too-many"      // a manual number and more people than one request holds
	ReasonUnreadableList     ReasonCode = "unreadable-list"      // not a list the reader can read
	ReasonNoRows             ReasonCode = "no-rows"              // a header and nothing else
	ReasonNoValidRow         ReasonCode = "no-valid-row"         // every row refused
	ReasonUploadNotProcessed ReasonCode = "upload-not-processed" // intake kept failing on it
)

// Why a request (and its people) failed.
const (
	ReasonNoPeopleLeft      ReasonCode = "no-people-left"     // all its people were taken by other requests
	ReasonRegisterRefused   ReasonCode = "register-refused"   // the protocol register refused it
	ReasonNotComposed       ReasonCode = "not-composed"       // the request could not be written with these people
	ReasonProviderRefused   ReasonCode = "provider-refused"   // non-accettazione
	ReasonNotDelivered      ReasonCode = "not-delivered"      // errore-consegna
	ReasonVirus             ReasonCode = "virus"              // rilevazione-virus, or a refusal for a virus
	ReasonProcuraRefused    ReasonCode = "procura-refused"    // the Procura answered with a refusal
	ReasonTransportAttempts ReasonCode = "transport-attempts" // a person whose requests failed in transport too often
	ReasonTriageClosed      ReasonCode = "triage-closed"      // the protocol office closed the request by hand
	ReasonOther             ReasonCode = "other"              // recorded before codes existed, or not classified
)

// Why a PEC message waits in triage.
const (
	ReasonUnreadableMessage  ReasonCode = "unreadable-message"  // not a readable e-mail message
	ReasonNotPEC             ReasonCode = "not-pec"             // ordinary mail or a delivery status notification
	ReasonAnomaly            ReasonCode = "anomaly"             // an anomaly envelope (ordinary mail reached the PEC box)
	ReasonUnknownKind        ReasonCode = "unknown-kind"        // a PEC kind we do not handle
	ReasonBadSignature       ReasonCode = "bad-signature"       // the provider's signature did not verify
	ReasonNoOriginal         ReasonCode = "no-original"         // an envelope without the original message
	ReasonNotProcura         ReasonCode = "not-procura"         // a PEC whose certified sender is not the Procura
	ReasonNoReference        ReasonCode = "no-reference"        // a reply quoting no protocol number nor Message-ID of ours
	ReasonNoMatch            ReasonCode = "no-match"            // a reply whose references match no request
	ReasonSeveralMatches     ReasonCode = "several-matches"     // a reply matching several requests
	ReasonWeakMatch          ReasonCode = "weak-match"          // a protocol number quoted without its date, nothing else
	ReasonDateMismatch       ReasonCode = "date-mismatch"       // a protocol number quoted with another date
	ReasonUnrecognisedReply  ReasonCode = "unrecognised-reply"  // no certificates and not a refusal in the Procura's terms
	ReasonUnsettledRefusal   ReasonCode = "unsettled-refusal"   // a refusal not attributed by the strong rule
	ReasonReceiptNoReference ReasonCode = "receipt-no-ref"      // a receipt without the original Message-ID
	ReasonReceiptUnknown     ReasonCode = "receipt-unknown"     // a receipt for a Message-ID we did not send
	ReasonUnexpectedReceipt  ReasonCode = "unexpected-receipt"  // a receipt of a kind we do not act on
	ReasonCertificateProblem ReasonCode = "certificate-problem" // attachments that could not be linked to people
	ReasonUnreadablePDF      ReasonCode = "unreadable-pdf"      // a certificate whose text could not be read safely
	ReasonSecondCertificate  ReasonCode = "second-certificate"  // a different certificate for a person already certified
	ReasonMessageTooLarge    ReasonCode = "message-too-large"   // over the size limit: only its header was kept
	ReasonMessageFailing     ReasonCode = "message-failing"     // handling it failed again and again: set aside
	ReasonEncrypted          ReasonCode = "encrypted"           // an encrypted part that could not be opened
)

// italian is the one place where a code becomes the text a clerk or the
// protocol office reads. A test fails when a code has no text here.
var italian = map[ReasonCode]string{
	ReasonUnknownOffice:      "Ufficio non configurato: l'elenco non può essere accettato.",
	ReasonFileTooLarge:       "Il file supera la dimensione massima consentita.",
	ReasonBadManualProtocol:  "Numero o data di protocollo non validi.",
	ReasonNoManualProtocol:   "Manca il numero di protocollo assegnato dall'ufficio protocollo.",
	ReasonManualNotAllowed:   "Solo l'ufficio protocollo può indicare un numero di protocollo.",
	ReasonManualTaken:        "Il numero di protocollo indicato è già stato usato per un'altra richiesta.",
	ReasonManualTooMany:      "Con un numero di protocollo indicato a mano, l'elenco non può superare i nominativi di una sola richiesta.",
	ReasonUnreadableList:     "Il file non è un elenco leggibile: il resoconto indica il motivo.",
	ReasonNoRows:             "Il file non contiene nominativi.",
	ReasonNoValidRow:         "Nessuna riga dell'elenco è valida: il resoconto indica il motivo per ciascuna.",
	ReasonUploadNotProcessed: "Non è stato possibile elaborare l'elenco: caricarlo di nuovo o contattare l'assistenza.",

	ReasonNoPeopleLeft:      "Tutti i nominativi erano già stati inclusi in altre richieste.",
	ReasonRegisterRefused:   "Il protocollo generale ha rifiutato la registrazione della richiesta.",
	ReasonNotComposed:       "Non è stato possibile preparare la richiesta con i dati dei nominativi: contattare l'assistenza.",
	ReasonProviderRefused:   "Il gestore PEC non ha accettato il messaggio (avviso di non accettazione).",
	ReasonNotDelivered:      "La PEC non è stata consegnata alla Procura (avviso di mancata consegna).",
	ReasonVirus:             "Il gestore PEC ha rilevato un virus nel messaggio.",
	ReasonProcuraRefused:    "La Procura ha respinto la richiesta.",
	ReasonTransportAttempts: "La richiesta non è arrivata alla Procura dopo più tentativi: verificare con l'assistenza e caricare di nuovo il nominativo.",
	ReasonTriageClosed:      "L'ufficio protocollo ha chiuso la richiesta.",
	ReasonOther:             "Si è verificato un errore: l'assistenza può consultarne il dettaglio.",

	ReasonUnreadableMessage:  "Messaggio illeggibile: conservato così com'è.",
	ReasonNotPEC:             "Messaggio ordinario (non PEC) arrivato nella casella PEC.",
	ReasonAnomaly:            "Anomalia: un messaggio ordinario è arrivato nella casella PEC.",
	ReasonUnknownKind:        "Messaggio PEC di tipo sconosciuto.",
	ReasonBadSignature:       "Messaggio PEC con firma del gestore non verificata.",
	ReasonNoOriginal:         "Busta PEC senza il messaggio originale.",
	ReasonNotProcura:         "Messaggio PEC di un mittente certificato diverso dalla Procura.",
	ReasonNoReference:        "Risposta della Procura senza un numero di protocollo o un riferimento riconoscibile.",
	ReasonNoMatch:            "Risposta della Procura con riferimenti che non corrispondono ad alcuna richiesta.",
	ReasonSeveralMatches:     "Risposta della Procura che corrisponde a più richieste.",
	ReasonWeakMatch:          "Risposta della Procura che cita solo un numero di protocollo, senza la data: da confermare.",
	ReasonDateMismatch:       "Risposta della Procura che cita un numero di protocollo con una data diversa da quella della richiesta.",
	ReasonUnrecognisedReply:  "Risposta della Procura senza certificati, non riconosciuta come rifiuto.",
	ReasonUnsettledRefusal:   "Rifiuto della Procura non attribuibile con certezza a una richiesta.",
	ReasonReceiptNoReference: "Ricevuta PEC che non indica il messaggio a cui si riferisce.",
	ReasonReceiptUnknown:     "Ricevuta PEC di un messaggio non inviato da questo servizio.",
	ReasonUnexpectedReceipt:  "Ricevuta PEC di tipo inatteso.",
	ReasonCertificateProblem: "Allegati della risposta che non è stato possibile abbinare ai nominativi.",
	ReasonUnreadablePDF:      "Certificato PDF che non è stato possibile leggere in sicurezza.",
	ReasonSecondCertificate:  "Un secondo certificato, diverso dal primo, per una persona già certificata: scegliere quale vale.",
	ReasonMessageTooLarge:    "Messaggio troppo grande: è stata conservata solo l'intestazione.",
	ReasonMessageFailing:     "Messaggio che non è stato possibile elaborare dopo più tentativi: messo da parte per un controllo.",
	ReasonEncrypted:          "Messaggio cifrato che non è stato possibile aprire.",
}

// Italian is the text of the code for office users; an unknown code gives
// the text of ReasonOther.
func (c ReasonCode) Italian() string {
	if s, ok := italian[c]; ok {
		return s
	}
	return italian[ReasonOther]
}

// Known reports whether c is one of the codes above.
func (c ReasonCode) Known() bool {
	_, ok := italian[c]
	return ok
}

// ReasonCodes lists every code, sorted.
func ReasonCodes() []ReasonCode {
	out := make([]ReasonCode, 0, len(italian))
	for c := range italian {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Reason is why something failed or needs a person: a code and the
// technical detail recorded with it (English, for operators; never
// personal data).
type Reason struct {
	Code   ReasonCode `json:"code"`
	Detail string     `json:"detail,omitempty"`
}

// Because returns a Reason with code c and detail.
func Because(c ReasonCode, detail string) Reason { return Reason{Code: c, Detail: detail} }

// IsZero reports whether no reason is set.
func (r Reason) IsZero() bool { return r.Code == "" && r.Detail == "" }

// String is the detail prefixed by the code, for logs and events.
func (r Reason) String() string {
	switch {
	case r.IsZero():
		return ""
	case r.Detail == "":
		return string(r.Code)
	}
	return string(r.Code) + ": " + r.Detail
}

// Italian is the text for office users.
func (r Reason) Italian() string {
	if r.IsZero() {
		return ""
	}
	return r.Code.Italian()
}
