"""Tests of cnncourse.quiz (a package so that module names such as test_browser cannot clash)."""
