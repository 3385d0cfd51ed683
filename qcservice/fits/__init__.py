"""FITS files as the data centre reads them: every header without the pixels
(:mod:`.header`), the pixels of MUSE raw frames (:mod:`.rawpix`) and file checksums
(:mod:`.checksum`); shared by ingest, QC, ancillary data, the viewer and the download
client."""
