"""Crawl web pages for pictures with structured context (issue 16): Scrapy fetches, extract.py reads pages."""
