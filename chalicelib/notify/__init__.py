"""E-mail: rendering (text + HTML, per language) and delivery through SES."""
