"""Follow-up notices as documents: EHF Reminder 3.0 (`ehf_reminder`), the PDF reminder and statement
(`reminder_pdf`), and the first notice the gateway would send for one invoice (`notice`).

Every renderer takes a `schemas.followup.ReminderDocument`; the registry's `render(invoice, options)` of
these formats builds the first notice for that invoice (`notice.first_notice_for`) and renders it, so a
person can look at what would be sent (`gateway render INVOICE --to ehf-reminder`).
"""
