"""Chinese text: feature-word lexicons and risk-event classification of news and posts."""
