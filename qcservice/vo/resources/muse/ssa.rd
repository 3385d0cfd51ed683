<resource schema="muse" resdir="muse">
	<meta name="title">MUSE GTO extracted spectra</meta>
	<meta name="description">One-dimensional spectra extracted from the final
		MUSE GTO cubes (ESO PRO CATG SPECTRUM_1D), in a publishable QA state.
		Proprietary spectra are served to members of their owner group only.</meta>
	<meta name="creationDate">2026-11-23T00:00:00</meta>
	<meta name="subject">spectroscopy</meta>
	<meta name="subject">virtual-observatories</meta>
	<meta name="creator.name">MUSE GTO consortium</meta>
	<meta name="instrument">MUSE</meta>
	<meta name="facility">ESO VLT</meta>
	<meta name="ssap.dataSource">pointed</meta>
	<meta name="ssap.creationType">spectralExtraction</meta>
	<meta name="ssap.testQuery">MAXREC=1</meta>
	<meta name="productType">spectrum</meta>

	<table id="spectra" onDisk="True" adql="True">
		<meta name="description">MUSE extracted spectra (SSA, hcd), also in
			ivoa.obscore (dataproduct_type spectrum) with the QC columns.</meta>
		<meta name="_associatedDatalinkService">
			<meta name="serviceId">dl</meta>
			<meta name="idColumn">ssa_pubDID</meta>
		</meta>
		<mixin
			fluxCalibration="ABSOLUTE"
			spectralCalibration="ABSOLUTE"
			fluxUnit="1e-22 W.m**-2.nm**-1"
			spectralUnit="0.1nm"
			instrument="MUSE"
			>//ssap#hcd</mixin>
		<mixin
			collectionName="'MUSE-GTO'"
			calibLevel="3"
			obsId="obs_id"
			coverage="s_region"
			facilityName="'ESO-VLT-U4'"
			accessURL="dl_url"
			mime="'application/x-votable+xml;content=datalink'"
			size="accsize/1000"
			t_exptime="ssa_timeExt"
			@SPECTRA_BINDINGS@>//obscore#publishSSAPHCD</mixin>
		<!-- ivoa.obscore's spectra branch: DaCHS runs a cone as q3c_join over the
		     view's s_ra/s_dec (here degrees(long/lat(ssa_location))) with enable_seqscan
		     off; without this index the branch is a seq scan costed at 1e10 -->
		<index columns="ssa_location" name="spectra_q3c"
			>q3c_ang2ipix(degrees(long(ssa_location)), degrees(lat(ssa_location)))</index>
		<index columns="s_region" method="GIST"/>
		<column name="file_id" type="bigint" required="True" ucd="meta.id"
			description="Identifier of the file in the QC catalogue"/>
		<column name="obs_id" type="text" ucd="meta.id"
			description="Observation identifier (the key of the QC tables)"/>
		<column name="night" type="date" ucd="time.epoch"
			description="ESO night of the observation (DATE-OBS minus 12 h)"/>
		<column name="s_region" type="spoly" xtype="adql:REGION" unit="deg" ucd="pos.outline;obs.field"
			description="Extraction aperture (an octagon around the aperture circle)"/>
		<!-- the QC columns it shares with ivoa.obscore: qcservice/vo/obscore_columns.py -->
		@SPECTRA_COLUMNS@
		<column name="dl_url" type="text" ucd="meta.ref.url"
			description="DataLink document of the spectrum (ivoa.obscore access_url)"/>
		<column name="cube_accref" type="text" ucd="meta.ref"
			description="Access reference of the published cube the spectrum was extracted from (DataLink #progenitor)"/>
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
					<bind key="specstart">@specstart</bind>
					<bind key="specend">@specend</bind>
					<bind key="aperture">@aperture</bind>
					<!-- SSA carries them too: measured and chosen once (ObsCore's) -->
					<bind key="snr">@snr</bind>
					<bind key="creatorDID">@obs_creator_did</bind>
				</apply>
			</rowmaker>
		</make>
	</data>

	<service id="dl" allowed="dlget,dlmeta">
		<meta name="title">MUSE spectra DataLink</meta>
		<meta name="description">DataLink for MUSE extracted spectra: the file
			(#this), the cube it was extracted from (#progenitor), its page in the QA
			viewer (#auxiliary). Proprietary spectra need the credentials of a
			member of their owner group.</meta>
		<datalinkCore>
			<descriptorGenerator>
				<FEED source="muse/q#loadMuselib"/>
				<code>
					return muselib.make_descriptor(pubDID, muselib.PlainDescriptor)
				</code>
			</descriptorGenerator>
			<metaMaker>
				<FEED source="muse/q#loadMuselib"/>
				<code>
					yield from muselib.related_links(descriptor, LinkDef)
				</code>
			</metaMaker>
			<dataFunction>
				<FEED source="muse/q#loadMuselib"/>
				<code>
					muselib.require_access(descriptor.owner, descriptor.embargo)
					descriptor.data = File(muselib.product_path(descriptor),
						"application/fits")
				</code>
			</dataFunction>
		</datalinkCore>
	</service>

	<service id="ssa" allowed="ssap.xml,form">
		<meta name="shortName">MUSE spectra SSA</meta>
		<meta name="title">MUSE GTO extracted spectra</meta>
		<publish render="ssap.xml" sets="ivo_managed,local"/>
		<ssapCore queriedTable="spectra">
			<FEED source="//ssap#hcd_condDescs"/>
		</ssapCore>
	</service>

	<regSuite title="MUSE spectra">
		<regTest title="SSA answers MUSE spectra">
			<url REQUEST="queryData" MAXREC="5">ssa/ssap.xml</url>
			<code>
				self.assertTrue(len(self.getVOTableRows()) > 0)
			</code>
		</regTest>
		<regTest title="TAP: muse.spectra are in ivoa.obscore">
			<url parSet="TAP" QUERY="SELECT COUNT(*) AS n FROM ivoa.obscore
				WHERE dataproduct_type = 'spectrum' AND obs_collection = 'MUSE-GTO'"
				>/tap/sync</url>
			<code>
				self.assertTrue(self.getFirstVOTableRow()["n"] > 0)
			</code>
		</regTest>
	</regSuite>
</resource>
