"""The script `vizcache serve` hands to `panel serve`; Panel names the URL after the file: /viewer."""
