<resource schema="muse" resdir="muse">
	<meta name="title">MUSE GTO extracted spectra</meta>
	<meta name="description">One-dimensional spectra extracted from the final
		MUSE GTO cubes (ESO PRO CATG SPECTRUM_1D), in a publishable QA state.
		Proprietary spectra are served to members of their owner group only.</meta>
	<meta name="creationDate">2026-11-23T00:00:00</meta>
	<meta name="subject">spectroscopy</meta>
	<meta name="creator.name">MUSE GTO consortium</meta>
	<meta name="instrument">MUSE</meta>
	<meta name="facility">ESO VLT</meta>
	<meta name="ssap.dataSource">pointed</meta>
	<meta name="ssap.creationType">spectralExtraction</meta>
	<meta name="ssap.testQuery">MAXREC=1</meta>
	<meta name="productType">spectrum</meta>

	<table id="spectra" onDisk="True" adql="True">
		<meta name="description">MUSE extracted spectra (SSA, hcd).</meta>
		<mixin
			fluxCalibration="ABSOLUTE"
			spectralCalibration="ABSOLUTE"
			fluxUnit="1e-20 erg.s**-1.cm**-2.Angstrom**-1"
			spectralUnit="Angstrom"
			instrument="MUSE"
			>//ssap#hcd</mixin>
		<column name="file_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the file in the QC catalogue"/>
		<column name="qa_state" type="text" ucd="meta.code.qual"
			description="QA state of the spectrum"/>
	</table>

	<data id="import_spectra">
		<sources>stage/spectra.jsonl</sources>
		<embeddedGrammar>
			<FEED source="muse/q#stageIterator"/>
			<rowfilter procDef="//products#define">
				<bind key="table">"muse.spectra"</bind>
				<bind key="accref">@p_accref</bind>
				<bind key="path">@p_path</bind>
				<bind key="fsize">@p_fsize</bind>
				<bind key="mime">"application/fits"</bind>
				<bind key="owner">@p_owner</bind>
				<bind key="embargo">@p_embargo</bind>
				<bind key="preview">None</bind>
			</rowfilter>
		</embeddedGrammar>
		<make table="spectra">
			<rowmaker idmaps="*">
				<apply procDef="//ssap#setMeta">
					<bind key="pubDID">\standardPubDID</bind>
					<bind key="dstitle">@title</bind>
					<bind key="targname">@target</bind>
					<bind key="alpha">@ra</bind>
					<bind key="delta">@dec</bind>
					<bind key="dateObs">@mjd</bind>
					<bind key="timeExt">@exptime</bind>
					<bind key="bandpass">"Optical"</bind>
					<bind key="specmid">@specmid</bind>
					<bind key="specext">@specext</bind>
					<bind key="aperture">@aperture</bind>
				</apply>
			</rowmaker>
		</make>
	</data>

	<service id="ssa" allowed="ssap.xml,form">
		<meta name="shortName">MUSE spectra SSA</meta>
		<meta name="title">MUSE GTO extracted spectra</meta>
		<publish render="ssap.xml" sets="ivo_managed"/>
		<ssapCore queriedTable="spectra">
			<FEED source="//ssap#hcd_condDescs"/>
		</ssapCore>
	</service>
</resource>
