"""How sure matching is: the evidence kinds, their weights, and the squashed sum that is the score.

A candidate's score is ``1 - exp(-max(0, sum of its evidence weights))``: every weight is listed in the
evidence with a sentence, so the score is explainable. The default threshold 0.90 needs a sum of 2.31.

=======================  ======  ==========================================================================
evidence kind            weight  when
=======================  ======  ==========================================================================
kid                       2.5    a KID in a structured field names the item (2.2 when found in free text)
kid-typo                  1.4    an invalid KID is one typo from exactly one valid KID (1.2 when only the
                                 one fitting the payer or the amount is taken among several)
invoice-number            2.4    a remittance line (or the KID field) names the number (1.6 in free text)
learned-pattern           1.8    a pattern learned from a person's resolution reads the number
invoice-number-typo       1.0    a number one edit away from the only open item that fits payer or amount
payer-account             1.0    the payer's account is learned for the candidate's customer
payer-alias               0.9    the payer's name is a learned alias of the candidate's customer
payer-name-fuzzy          0.2-0.5  the payer's name resembles the customer's (score 85..100)
payer-group               0.9    the identified payer pays for the candidate's customer (its customer group:
                                 a receiver profile's parent_customer, an API link, a person's resolution);
                                 at most the payer's own evidence (an alias: 0.9); 0.0 for a payer known by
                                 name only (suggestions only)
amount-exact              1.0    the amount equals the open amount (net of credit notes)
amount-unique             0.5    the identified payer's only item or combination with exactly the amount
amount-subset             0.5    the same, when it is a combination of several items
amount-short              0.7    short within the write-off allowance (written off)
amount-deduction          0.5    short by a deduction the payer states (approval by policy)
amount-partial            0.0    a referenced partial payment
partial-reference         0.4    the partial payment's reference is valid as it stands (a KID whose check
                                 digit holds, an invoice number named exactly in a remittance field) and
                                 policy `partial_payments` allows partials: a partial payment by rule
amount-over               0.2    more than owed (excess on the single invoice, else unapplied)
due-date                  0.1    paid within `due_date_window_days` of a due date
amount-common            -0.5    a number read from free text fits exactly, but >= `COMMON_AMOUNT` open
                                 invoices have that amount (a subscription price) and the payer is not known
                                 as the customer: the amount confirms little
fx, credit-note-netted    0.0    explanations
payer-from-kid            0.0    no payer name (OCR giro lines carry none): the valid KID's customer is
                                 taken as the payer of a partial or overpayment (no payer-unconfirmed)
payer-conflict           -2.0    the item belongs to another customer than the identified payer
amount-conflict          -1.5    the referenced item's amount does not fit, another candidate fits exactly
kid-amount-conflict      -1.5    the same, for a KID
reference-elsewhere      -1.0    an amount-only candidate while the payment references other items
payer-unconfirmed        -0.3    the amount does not fit the reference (partial, over) and the payer is
                                 neither known nor named like the customer
payer-name-mismatch      -1.0    a free-text reference to an item of another customer than the one the
                                 payer's name resembles (structured references and KIDs are exempt)
ambiguous                -0.5    several items or combinations fit equally
currency-mismatch        -3.0    the item's currency is neither the payment's nor the instructed one
already-paid             -3.0    the referenced item is already paid: a duplicate payment?
old-kid                  +1.2    a single invoice with exactly the amount, of the same customer as a KID
                                 whose item the amount does not fit (partial, over): an old KID? Ranks it
                                 above the KID's item; a conflict kind, so it never applies by itself
=======================  ======  ==========================================================================

Kinds listed in `CONFLICT_KINDS` block automatic application whatever the score.
"""

from __future__ import annotations

import math

W_KID = 2.5
W_KID_TEXT = 2.2
W_KID_TYPO = 1.4
W_KID_TYPO_NARROWED = 1.2
W_NUMBER_STRUCTURED = 2.4
W_NUMBER_TEXT = 1.6
W_PATTERN = 1.8
W_NUMBER_TYPO = 1.0
W_PAYER_ACCOUNT = 1.0
W_PAYER_ALIAS = 0.9
#: Lower than the payer's own account: a group pays for its members, but the link may be old.
W_PAYER_GROUP = 0.9
W_FUZZY_MIN = 0.2
W_FUZZY_MAX = 0.5
W_EXACT = 1.0
W_UNIQUE = 0.5
W_SUBSET = 0.5
W_SHORT = 0.7
W_DEDUCTION = 0.5
W_PARTIAL = 0.0
W_OVER = 0.2
W_DUE = 0.1
W_PAYER_CONFLICT = -2.0
W_AMOUNT_CONFLICT = -1.5
W_ELSEWHERE = -1.0
W_UNCONFIRMED = -0.3
W_NAME_MISMATCH = -1.0
#: A payer name this close (0..100) to some customer's makes a free-text reference to another customer's
#: item doubtful: the number is more likely mistyped than paid for someone else.
NAME_ELSEWHERE_SCORE = 95.0
W_AMBIGUOUS = -0.5
W_CURRENCY = -3.0
W_PAID = -3.0
W_PARTIAL_REFERENCE = 0.4
W_OLD_KID = 1.2

#: A combination of an identified payer's items that adds up to the payment is the only one ("unique") only
#: when no more than this many combinations of its size are expected to add up by chance
#: (`candidates.chance_combinations`): else it is an ambiguous fit, for a person.
CHANCE_LIMIT = 0.01
#: An amount this many open invoices (of any customer) have is common: it confirms little of a number read
#: from free text (`W_COMMON_AMOUNT`).
COMMON_AMOUNT = 10
W_COMMON_AMOUNT = -0.5

#: Evidence that forbids automatic application whatever the score.
CONFLICT_KINDS = frozenset(
    {
        "payer-conflict",
        "amount-conflict",
        "kid-amount-conflict",
        "reference-elsewhere",
        "payer-unconfirmed",
        "payer-name-mismatch",
        "ambiguous",
        "currency-mismatch",
        "already-paid",
        "old-kid",
    }
)
#: Reference kinds a proposal may rest on for automatic application.
REFERENCE_KINDS = frozenset({"kid", "kid-typo", "invoice-number", "invoice-number-typo", "learned-pattern"})


def squash(total: float) -> float:
    """The score of a sum of evidence weights: 0 for nothing or less, approaching 1 as evidence adds up."""
    return 1.0 - math.exp(-max(0.0, total))
