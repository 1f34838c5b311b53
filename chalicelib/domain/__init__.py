"""Pure business rules of Sésame: no AWS, no web framework, no templates, no clock."""
