"""What pages and e-mails share: translations, labels, dates, the template environment."""
