"""The pages for people: the strings of both languages, the HTML frame and the stylesheet."""
